package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// Issue 14, Performance: the Jobs page of a namespace with 1,000 jobs
// renders in ≤ 300 ms server time with ≤ 3 API requests.
const (
	benchJobs        = 1000
	benchRunsPerJob  = 3
	maxJobsPageReqs  = 3
	benchNS          = "team"
	benchInvalidJobs = 5
)

// bigNamespace is benchJobs job definitions (benchInvalidJobs of them with a
// broken stored definition) with benchRunsPerJob runs each, one minute
// apart: mostly succeeded, the newest run of every 10th job failed (exit
// code 3, with its pod), of every 50th still running (with its pod), and
// 5 unrelated Secrets and Jobs that are not ours.
func bigNamespace(tb testing.TB) []runtime.Object {
	tb.Helper()
	now := time.Now()
	objs := []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNS}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}},
	}
	for i := range benchJobs {
		name := fmt.Sprintf("job-%04d", i)
		j := jobdef.New(benchNS, name)
		j.Spec.Image = "ghcr.io/acme/app-" + name
		j.Spec.Tag = "1.4"
		j.Spec.Description = "benchmark job " + name
		j.Spec.Parameters = []jobdef.Parameter{{Name: "TARGET", Default: "latest"}, {Name: "DRY_RUN", Default: "false"}}
		j.Spec.Env = []jobdef.EnvVar{{Name: "LOG_LEVEL", Value: "info"}}
		sec, err := jobdef.ToSecret(j)
		if err != nil {
			tb.Fatal(err)
		}
		sec.Namespace = benchNS
		sec.UID = types.UID("uid-def-" + name)
		sec.CreationTimestamp = metav1.NewTime(now.Add(-time.Duration(benchJobs-i) * time.Hour))
		if i < benchInvalidJobs {
			sec.Data[jobdef.DataKey] = []byte(`{"apiVersion":` + "broken")
		}
		objs = append(objs, sec)
		for k := range benchRunsPerJob {
			objs = append(objs, benchRun(name, k, i, now)...)
		}
	}
	for i := range 5 {
		objs = append(objs,
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%d", i), Namespace: benchNS}, Data: map[string][]byte{"k": []byte("v")}},
			&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%d", i), Namespace: benchNS}})
	}
	return objs
}

// benchRun is run k (0 = oldest) of job number i, with its pod when the run
// is not a plain success.
func benchRun(job string, k, i int, now time.Time) []runtime.Object {
	name := fmt.Sprintf("%s-%05d", job, k)
	created := now.Add(-time.Duration(benchRunsPerJob-k) * time.Minute)
	start := metav1.NewTime(created.Add(time.Second))
	end := metav1.NewTime(start.Add(time.Duration(5+i%40) * time.Second))
	uid := types.UID("uid-run-" + name)
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: benchNS, UID: uid, CreationTimestamp: metav1.NewTime(created),
			Labels: map[string]string{run.LabelKind: run.KindRun, run.LabelJob: job, run.LabelRun: name},
			Annotations: map[string]string{
				run.AnnotationTriggeredBy: "user:bench",
				run.AnnotationTriggeredAt: created.UTC().Format(time.RFC3339Nano),
				run.AnnotationImage:       "ghcr.io/acme/app-" + job + ":1.4",
				run.AnnotationParameters:  `{"DRY_RUN":"false","TARGET":"v` + fmt.Sprint(k) + `"}`,
			}},
		Status: batchv1.JobStatus{StartTime: &start},
	}
	last := k == benchRunsPerJob-1
	pod := func(phase corev1.PodPhase, state corev1.ContainerState) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name + "-abcde", Namespace: benchNS, CreationTimestamp: start,
				Labels:          map[string]string{run.LabelRun: name, run.LabelJob: job},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: name, UID: uid}}},
			Spec:   corev1.PodSpec{NodeName: "node", Containers: []corev1.Container{{Name: "job", Image: "ghcr.io/acme/app-" + job + ":1.4"}}},
			Status: corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{Name: "job", State: state}}},
		}
	}
	switch {
	case last && i%50 == 7:
		j.Status.Active = 1
		return []runtime.Object{j, pod(corev1.PodRunning, corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: start}})}
	case last && i%10 == 3:
		j.Status.Failed = 1
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue,
			Reason: batchv1.JobReasonBackoffLimitExceeded, LastTransitionTime: end}}
		return []runtime.Object{j, pod(corev1.PodFailed, corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 3, Reason: "Error", StartedAt: start, FinishedAt: end}})}
	default:
		j.Status.Succeeded = 1
		j.Status.CompletionTime = &end
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: end}}
		return []runtime.Object{j}
	}
}

// jobsPageFixture is the UI's real handler over a fake clientset holding
// bigNamespace, and a request for its Jobs page with the session cookie.
func jobsPageFixture(tb testing.TB) (*Server, *fake.Clientset, http.Handler, func() *http.Request) {
	tb.Helper()
	cs := fake.NewClientset(bigNamespace(tb)...)
	s, err := NewServer(Config{Client: cs, Engine: noEngine{}, Namespace: benchNS,
		WhoAmI: func(context.Context) string { return "user:bench" }}, testHost)
	if err != nil {
		tb.Fatal(err)
	}
	startSession(s)
	waitNamespaces(s) // NewServer's fetch of the switcher's list is not a page's
	req := func() *http.Request {
		r := httptest.NewRequest("GET", "http://"+testHost+"/namespaces/"+benchNS+"/jobs", nil)
		r.AddCookie(&http.Cookie{Name: s.sess.cookieName(), Value: s.sess.cookie})
		return r
	}
	return s, cs, s.Handler(), req
}

// waitNamespaces waits for the namespace switcher's background fetch.
func waitNamespaces(s *Server) {
	s.nsc.mu.Lock()
	busy := s.nsc.busy
	s.nsc.mu.Unlock()
	if busy != nil {
		<-busy
	}
}

// renderJobs serves one Jobs page and returns the API requests it made.
func renderJobs(tb testing.TB, cs *fake.Clientset, h http.Handler, req func() *http.Request) ([]string, *httptest.ResponseRecorder) {
	tb.Helper()
	cs.ClearActions()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req())
	if rec.Code != http.StatusOK {
		tb.Fatalf("Jobs page: %d\n%.2000s", rec.Code, rec.Body.String())
	}
	var reqs []string
	for _, a := range cs.Actions() {
		reqs = append(reqs, a.GetVerb()+" "+a.GetResource().Resource)
	}
	return reqs, rec
}

// TestJobsPageRequests holds the Jobs page of 1,000 jobs with 3,000 runs
// to at most maxJobsPageReqs API requests, also the first one (whose
// namespace switcher is not cached yet), and checks it shows them all.
func TestJobsPageRequests(t *testing.T) {
	_, cs, h, req := jobsPageFixture(t)
	for i, what := range []string{"first render", "second render"} {
		reqs, rec := renderJobs(t, cs, h, req)
		t.Logf("%s: %d API requests: %v", what, len(reqs), reqs)
		if len(reqs) > maxJobsPageReqs {
			t.Errorf("%s of the Jobs page: %d API requests, want ≤ %d: %v", what, len(reqs), maxJobsPageReqs, reqs)
		}
		if i > 0 {
			continue
		}
		body := rec.Body.String()
		if n := strings.Count(body, `<tr`) - 1; n != benchJobs {
			t.Errorf("%d job rows, want %d", n, benchJobs)
		}
		if n := strings.Count(body, `class="invalid"`); n != benchInvalidJobs {
			t.Errorf("%d invalid rows, want %d", n, benchInvalidJobs)
		}
		if n, want := strings.Count(body, `<rect class="bar-`), benchJobs*benchRunsPerJob; n != want {
			t.Errorf("%d bars, want %d", n, want)
		}
		if !strings.Contains(body, "Exit code 3") {
			t.Errorf("no failed run's exit code on the page")
		}
		if !strings.Contains(body, `<option value="other">`) {
			t.Errorf("the namespace switcher does not list namespace other")
		}
	}
}

// TestNamespacesRefreshInBackground: a stale switcher list is shown while
// a fresh one is fetched off the page's path.
func TestNamespacesRefreshInBackground(t *testing.T) {
	s, cs, h, req := jobsPageFixture(t)
	s.nsc.mu.Lock()
	s.nsc.names, s.nsc.at = []string{"stale"}, time.Now().Add(-time.Hour)
	s.nsc.mu.Unlock()
	_, rec := renderJobs(t, cs, h, req)
	if !strings.Contains(rec.Body.String(), `<option value="stale">`) {
		t.Errorf("the stale list was not used")
	}
	waitNamespaces(s)
	if got := s.namespaces(t.Context(), ""); !slices.Equal(got, []string{"other", benchNS}) {
		t.Errorf("refreshed list %v", got)
	}
}

// BenchmarkJobsPage is the server time of the Jobs page of 1,000 jobs with
// 3,000 runs through the real handler (session guard, three lists, decode,
// statuses, strips, template) over a fake clientset:
//
//	go test -run '^$' -bench JobsPage -benchmem ./plugin/ui
//
// Its time includes the fake clientset's deep copies of 1,005 Secrets,
// 3,005 Jobs and 120 pods per render; reqs/op is the API requests.
func BenchmarkJobsPage(b *testing.B) {
	_, cs, h, req := jobsPageFixture(b)
	var reqs, bytes int
	b.ReportAllocs()
	for b.Loop() {
		r, rec := renderJobs(b, cs, h, req)
		reqs += len(r)
		bytes += rec.Body.Len()
	}
	b.ReportMetric(float64(reqs)/float64(b.N), "reqs/op")
	b.ReportMetric(float64(bytes)/float64(b.N), "html-bytes/op")
}

// BenchmarkJobsPageTemplate is the template alone over the same 1,000 rows,
// to tell rendering from listing and decoding.
func BenchmarkJobsPageTemplate(b *testing.B) {
	_, cs, h, req := jobsPageFixture(b)
	_, rec := renderJobs(b, cs, h, req)
	b.SetBytes(int64(rec.Body.Len()))
	s, err := NewServer(Config{Client: cs, Engine: noEngine{}, Namespace: benchNS}, testHost)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	jobs, err := (&jobdef.Store{Client: cs, Namespace: benchNS}).List(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	runs, err := run.List(ctx, cs, benchNS, "")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	byJob := map[string][]run.Status{}
	for _, st := range runs {
		byJob[st.Job] = append(byJob[st.Job], st)
	}
	rows := make([]jobRow, len(jobs))
	for i := range jobs {
		rows[i] = jobRow{Job: &jobs[i], Image: jobImage(&jobs[i])}
		if rs := byJob[jobs[i].Name]; len(rs) > 0 {
			rows[i].Last = &rs[0]
			rows[i].Strip = makeStrip(benchNS, rs, now)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.pages.render(rec, nil, http.StatusOK, "jobs", &page{Title: "Jobs", Namespace: benchNS, Data: jobsView{Rows: rows, Total: len(rows), Matched: len(rows), First: 1, Last: len(rows), Page: 1}, Now: now})
	}
}

// TestNamespacesFirstPage: a page served before NewServer's fetch ended
// waits for it, so even the first page's switcher lists the namespaces.
func TestNamespacesFirstPage(t *testing.T) {
	cs := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "b"}})
	s, err := NewServer(Config{Client: cs, Engine: noEngine{}, Namespace: "a"}, testHost)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.namespaces(t.Context(), "c"); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("first list %v", got)
	}
}
