package runend

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/notify"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// receiver answers with codes in turn (the last one from then on) and
// records what it got.
type receiver struct {
	mu      sync.Mutex
	codes   []int
	bodies  [][]byte
	sigs    []string
	ids     []string
	headers []http.Header
	paths   []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bodies = append(r.bodies, body)
	r.sigs = append(r.sigs, req.Header.Get(notify.HeaderSignature))
	r.ids = append(r.ids, req.Header.Get(notify.HeaderDelivery))
	r.headers = append(r.headers, req.Header.Clone())
	r.paths = append(r.paths, req.URL.Path)
	code := r.codes[min(len(r.bodies), len(r.codes))-1]
	w.WriteHeader(code)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

// endedRun is a finished run Job of job migrate (failed with exit code 3
// unless ok).
func endedRun(name string, ok bool, jobUID string) (*batchv1.Job, *corev1.Pod) {
	start := metav1.NewTime(time.Now().Add(-time.Minute))
	end := metav1.NewTime(time.Now())
	ttl := int32(999)
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), ResourceVersion: "1",
		Labels: map[string]string{run.LabelKind: run.KindRun, run.LabelJob: "migrate"},
		Annotations: map[string]string{run.AnnotationJobUID: jobUID, run.AnnotationParameters: `{"TARGET":"v1","TOKEN":"<secret>"}`, run.AnnotationImage: "img:1", run.AnnotationTriggeredBy: "hook:ci",
			run.AnnotationReleaseName: "migrate", run.AnnotationReleaseNamespace: "ns"}},
		Spec: batchv1.JobSpec{TTLSecondsAfterFinished: &ttl, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "job", Image: "img:1"}}}}},
		Status: batchv1.JobStatus{StartTime: &start, CompletionTime: &end}}
	cond := batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: end}
	var exit int32
	if !ok {
		cond.Type, cond.Reason = batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded
		exit = 3
	}
	j.Status.Conditions = []batchv1.JobCondition{cond}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name + "-p", Namespace: "ns", Labels: map[string]string{run.LabelRun: name},
		CreationTimestamp: start},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "job",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit}}}}}}
	return j, pod
}

type setup struct {
	cs      *fake.Clientset
	secret  []byte
	p       *Processor
	metrics *Metrics
}

func newSetup(t *testing.T, urls []string, opts notify.Options, objs ...*batchv1.Job) *setup {
	t.Helper()
	def := jobdef.New("ns", "migrate")
	def.Spec.Image = "img"
	def.Spec.Retention, def.Spec.RetentionFailed = "1h", "48h"
	for _, u := range urls {
		def.Spec.Notifications = append(def.Spec.Notifications, jobdef.Notification{URL: u})
	}
	def.SetDefaults()
	sec, err := jobdef.ToSecret(def)
	if err != nil {
		t.Fatal(err)
	}
	sec.UID, sec.ResourceVersion = "def-uid", "1"
	cs := fake.NewClientset(sec)
	store := &jobdef.Store{Client: cs, Namespace: "ns"}
	stored, err := store.Get(t.Context(), "migrate")
	if err != nil {
		t.Fatal(err)
	}
	secret, err := store.EnsureSigningSecret(t.Context(), stored, jobdef.WriteOptions{})
	if err != nil || (secret == "") != (len(urls) == 0) {
		t.Fatalf("signing secret: %q %v", secret, err)
	}
	for _, j := range objs {
		if _, err := cs.BatchV1().Jobs("ns").Create(t.Context(), j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	m := NewMetrics()
	pol := notify.Policy{Tries: 3, Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond}
	opts.Timeout = time.Second
	p := New(Config{Client: cs, Namespaces: []string{"ns"}, Sender: notify.NewSender(opts), Policy: pol, Metrics: m, Identity: "test"})
	return &setup{cs: cs, secret: []byte(secret), p: p, metrics: m}
}

// runUntil runs the processor until every run named is ended.
func (s *setup) runUntil(t *testing.T, runs ...string) map[string]*batchv1.Job {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- s.p.Run(ctx, stop) }()
	out := map[string]*batchv1.Job{}
	deadline := time.Now().Add(10 * time.Second)
	for len(out) < len(runs) {
		if time.Now().After(deadline) {
			t.Fatalf("runs not ended within 10s: %v of %v", len(out), runs)
		}
		for _, r := range runs {
			j, err := s.cs.BatchV1().Jobs("ns").Get(t.Context(), r, metav1.GetOptions{})
			if err == nil && j.Annotations[run.AnnotationEnded] != "" {
				out[r] = j
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return out
}

// updateDef changes the stored definition (keeping its UID, as the API
// server does and the fake clientset does not).
func (s *setup) updateDef(t *testing.T, mutate func(*jobdef.Job)) {
	t.Helper()
	store := &jobdef.Store{Client: s.cs, Namespace: "ns"}
	def, err := store.Get(t.Context(), "migrate")
	if err != nil {
		t.Fatal(err)
	}
	mutate(def)
	if _, err := store.Update(t.Context(), def, jobdef.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	sec, err := s.cs.CoreV1().Secrets("ns").Get(t.Context(), jobdef.SecretName("migrate"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec.UID = "def-uid"
	if _, err := s.cs.CoreV1().Secrets("ns").Update(t.Context(), sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func deliveries(t *testing.T, j *batchv1.Job) []run.Delivery {
	t.Helper()
	ds, err := run.ParseDeliveries(j.Annotations[run.AnnotationNotifications])
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestRunEndNotifiesOnceSignedWithTTLAndEvent: a failed and a succeeded run
// are each notified once, signed, with their outcome; TTLs follow the
// outcome; each gets one Event; processing again sends nothing more.
func TestRunEndNotifiesOnceSignedWithTTLAndEvent(t *testing.T) {
	rcv := &receiver{codes: []int{200}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	failed, fpod := endedRun("migrate-f", false, "def-uid")
	ok, opod := endedRun("migrate-s", true, "def-uid")
	s := newSetup(t, []string{srv.URL + "/hook"}, notify.Options{AllowPrivate: true, AllowInsecure: true}, failed, ok)
	for _, p := range []*corev1.Pod{fpod, opod} {
		if _, err := s.cs.CoreV1().Pods("ns").Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	jobs := s.runUntil(t, "migrate-f", "migrate-s")
	if rcv.count() != 2 {
		t.Fatalf("%d notifications, want 2", rcv.count())
	}
	got := map[string]map[string]any{}
	for i, b := range rcv.bodies {
		if err := notify.Verify(s.secret, srv.URL+"/hook", rcv.headers[i], b, time.Now(), 0); err != nil {
			t.Errorf("notification %d: signature %q does not verify", i, rcv.sigs[i])
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		got[m["run"].(string)] = m
	}
	if f := got["migrate-f"]; f["outcome"] != "failed" || f["exitCode"] != float64(3) || f["job"] != "migrate" ||
		f["parameters"].(map[string]any)["TOKEN"] != "<secret>" || f["triggeredBy"] != "hook:ci" {
		t.Errorf("failed run's body: %v", f)
	}
	if g := got["migrate-s"]; g["outcome"] != "succeeded" || g["exitCode"] != float64(0) {
		t.Errorf("succeeded run's body: %v", g)
	}
	if ttl := jobs["migrate-f"].Spec.TTLSecondsAfterFinished; ttl == nil || *ttl != 48*3600 {
		t.Errorf("failed run's TTL %v, want retentionFailed 48h", ttl)
	}
	if ttl := jobs["migrate-s"].Spec.TTLSecondsAfterFinished; ttl == nil || *ttl != 3600 {
		t.Errorf("succeeded run's TTL %v, want retention 1h", ttl)
	}
	for name, j := range jobs {
		if ds := deliveries(t, j); len(ds) != 1 || ds[0].State != run.DeliveryDelivered {
			t.Errorf("%s: deliveries %+v", name, ds)
		}
		if j.Labels[run.LabelEnded] != "true" {
			t.Errorf("%s: no %s label: the watch would keep it cached", name, run.LabelEnded)
		}
	}
	evs, _ := s.cs.CoreV1().Events("ns").List(t.Context(), metav1.ListOptions{})
	reasons := map[string]string{}
	for _, e := range evs.Items {
		reasons[e.InvolvedObject.Name] += e.Reason
	}
	if reasons["migrate-f"] != "RunFailed" || reasons["migrate-s"] != "RunSucceeded" {
		t.Errorf("events %v, want one RunFailed and one RunSucceeded", reasons)
	}
	// Processing again (a new leader) sends nothing: the runs are ended.
	s.p.cfg.Workers = 1
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	_ = s.p.Run(ctx, make(chan struct{}))
	if rcv.count() != 2 {
		t.Errorf("a second leader sent %d more", rcv.count()-2)
	}
}

// TestRunEndDeliveryOutcomes: retried to success; a 400 is not retried; a
// loopback receiver without AllowPrivate is refused and never called.
func TestRunEndDeliveryOutcomes(t *testing.T) {
	cases := map[string]struct {
		codes    []int
		opts     notify.Options
		state    string
		requests int
		summary  string
	}{
		"500, 500, 200": {codes: []int{500, 500, 200}, opts: notify.Options{AllowPrivate: true, AllowInsecure: true}, state: run.DeliveryDelivered, requests: 3, summary: "HTTP 200 after 3 tries"},
		"400":           {codes: []int{400}, opts: notify.Options{AllowPrivate: true, AllowInsecure: true}, state: run.DeliveryFailed, requests: 1, summary: "400"},
		"always 503":    {codes: []int{503}, opts: notify.Options{AllowPrivate: true, AllowInsecure: true}, state: run.DeliveryFailed, requests: 3, summary: "failed after 3 tries"},
		"loopback":      {codes: []int{200}, opts: notify.Options{AllowInsecure: true}, state: run.DeliveryRefused, requests: 0, summary: "loopback"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rcv := &receiver{codes: tc.codes}
			srv := httptest.NewServer(rcv)
			defer srv.Close()
			j, _ := endedRun("migrate-1", false, "def-uid")
			s := newSetup(t, []string{srv.URL}, tc.opts, j)
			got := s.runUntil(t, "migrate-1")["migrate-1"]
			ds := deliveries(t, got)
			if len(ds) != 1 || ds[0].State != tc.state || !strings.Contains(ds[0].Summary, tc.summary) {
				t.Errorf("deliveries %+v, want state %s with %q", ds, tc.state, tc.summary)
			}
			if rcv.count() != tc.requests {
				t.Errorf("%d requests, want %d", rcv.count(), tc.requests)
			}
			if strings.Contains(got.Annotations[run.AnnotationNotifications], srv.URL) {
				t.Errorf("the webhook URL is recorded on the run: %s", got.Annotations[run.AnnotationNotifications])
			}
		})
	}
}

// TestRunEndNotifiesOnlyItsOutcomesAndItsJob: on: [succeeded] skips a
// failed run; a run of a job deleted and created again is not processed.
func TestRunEndNotifiesOnlyItsOutcomesAndItsJob(t *testing.T) {
	rcv := &receiver{codes: []int{200}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	failed, _ := endedRun("migrate-f", false, "def-uid")
	other, _ := endedRun("migrate-o", true, "an-earlier-uid")
	s := newSetup(t, nil, notify.Options{AllowPrivate: true, AllowInsecure: true}, failed, other)
	s.updateDef(t, func(def *jobdef.Job) {
		def.Spec.Notifications = []jobdef.Notification{{URL: srv.URL, On: []notify.Outcome{notify.Succeeded}}}
	})
	store := &jobdef.Store{Client: s.cs, Namespace: "ns"}
	def, err := store.Get(t.Context(), "migrate")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.EnsureSigningSecret(t.Context(), def, jobdef.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	jobs := s.runUntil(t, "migrate-f")
	if j, _ := s.cs.BatchV1().Jobs("ns").Get(t.Context(), "migrate-o", metav1.GetOptions{}); j.Annotations[run.AnnotationEnded] != "" {
		t.Errorf("a run of an earlier job of the same name was processed: %v", j.Annotations)
	}
	if rcv.count() != 0 {
		t.Errorf("%d notifications, want none", rcv.count())
	}
	for name, j := range jobs {
		if ds := deliveries(t, j); len(ds) != 0 {
			t.Errorf("%s: deliveries %+v, want none", name, ds)
		}
	}
}

// TestRunEndStateIsInput: a hand-edited notifications annotation is
// refused, not trusted (the run is marked ended, nothing sent).
func TestRunEndStateIsInput(t *testing.T) {
	for _, bad := range []string{`{`, `[{"target":0,"state":"sent"}]`, `[{"target":99,"state":"pending"}]`} {
		if _, err := run.ParseDeliveries(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	rcv := &receiver{codes: []int{200}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	j, _ := endedRun("migrate-1", false, "def-uid")
	j.Annotations[run.AnnotationNotifications] = `[{"target":0,"state":"bogus"}]`
	s := newSetup(t, []string{srv.URL}, notify.Options{AllowPrivate: true, AllowInsecure: true}, j)
	s.runUntil(t, "migrate-1")
	if rcv.count() != 0 {
		t.Errorf("sent %d on a hand-edited state", rcv.count())
	}
}

// TestRunEndRetriesHoldNoWorker: with one worker, a receiver that keeps
// failing (retried later) does not hold up another run's notification, and
// the schedule and count of tries are on the run.
func TestRunEndRetriesHoldNoWorker(t *testing.T) {
	var mu sync.Mutex
	var order []string
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		order = append(order, "failing")
		mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	fine := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		order = append(order, "fine")
		mu.Unlock()
	}))
	defer fine.Close()
	a, _ := endedRun("migrate-a", false, "def-uid")
	b, _ := endedRun("migrate-b", true, "def-uid")
	s := newSetup(t, []string{failing.URL + "/a", fine.URL + "/b"}, notify.Options{AllowPrivate: true, AllowInsecure: true}, a)
	// migrate-a notifies both (failed); make b's job notify only "fine"
	// by its outcome: the "failing" one is on failed only.
	s.updateDef(t, func(def *jobdef.Job) {
		def.Spec.Notifications[0].On = []notify.Outcome{notify.Failed}
		def.Spec.Notifications[1].On = []notify.Outcome{notify.Succeeded}
	})
	s.p.cfg.Workers = 1
	s.p.cfg.Policy = notify.Policy{Tries: 3, Initial: 300 * time.Millisecond, Max: time.Second}
	go func() { // b ends right after a's first try failed
		for {
			mu.Lock()
			n := len(order)
			mu.Unlock()
			if n > 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		_, _ = s.cs.BatchV1().Jobs("ns").Create(context.Background(), b, metav1.CreateOptions{})
	}()
	jobs := s.runUntil(t, "migrate-a", "migrate-b")
	mu.Lock()
	got := strings.Join(order, ",")
	mu.Unlock()
	if got != "failing,fine,failing,failing" {
		t.Errorf("requests in order %s, want failing,fine,failing,failing: the retry must not hold the worker", got)
	}
	if ds := deliveries(t, jobs["migrate-a"]); len(ds) != 1 || ds[0].State != run.DeliveryFailed || ds[0].Tries != 3 || ds[0].NextTry != nil {
		t.Errorf("a: %+v", ds)
	}
}

// TestRunEndIgnoresPlantedRuns (review N7): Jobs labelled as runs that are
// not runs of an existing job as it is (a job-uid copied from a real run
// but a privileged template; no job-uid; a job that does not exist) get no
// notification, no Event, no TTL change, no metric series; a real run
// beside them does.
func TestRunEndIgnoresPlantedRuns(t *testing.T) {
	rcv := &receiver{codes: []int{200}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	real, _ := endedRun("migrate-r", true, "def-uid")
	privileged, _ := endedRun("migrate-p", true, "def-uid")
	privileged.Spec.Template.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: new(bool)}
	noUID, _ := endedRun("migrate-n", true, "")
	otherJob, _ := endedRun("random-1", true, "def-uid")
	otherJob.Labels[run.LabelJob] = "random-label-x"
	s := newSetup(t, []string{srv.URL + "/hook"}, notify.Options{AllowPrivate: true, AllowInsecure: true}, privileged, noUID, otherJob, real)
	s.runUntil(t, "migrate-r")
	time.Sleep(200 * time.Millisecond) // the planted ones were seen before or with it: nothing may follow
	if rcv.count() != 1 {
		t.Errorf("%d notifications, want 1 (the real run's)", rcv.count())
	}
	for _, name := range []string{"migrate-p", "migrate-n", "random-1"} {
		j, _ := s.cs.BatchV1().Jobs("ns").Get(t.Context(), name, metav1.GetOptions{})
		if j.Annotations[run.AnnotationEnded] != "" || j.Annotations[run.AnnotationNotifications] != "" || *j.Spec.TTLSecondsAfterFinished != 999 {
			t.Errorf("%s was processed: %v", name, j.Annotations)
		}
	}
	evs, _ := s.cs.CoreV1().Events("ns").List(t.Context(), metav1.ListOptions{})
	if len(evs.Items) != 1 || evs.Items[0].InvolvedObject.Name != "migrate-r" {
		t.Errorf("events %+v, want the real run's only", evs.Items)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s.metrics.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "job" && l.GetValue() != "migrate" {
					t.Errorf("series %s{job=%q}", mf.GetName(), l.GetValue())
				}
			}
		}
		if mf.GetName() == "shipjob_runs_finished_total" && (len(mf.GetMetric()) != 1 || mf.GetMetric()[0].GetCounter().GetValue() != 1) {
			t.Errorf("runs finished: %v, want the real run only", mf.GetMetric())
		}
	}
}

// TestRunEndSeriesGoWithTheirDefinition (review N7): a job's metric series
// are dropped when its definition becomes invalid or is deleted.
func TestRunEndSeriesGoWithTheirDefinition(t *testing.T) {
	for name, change := range map[string]func(*setup){
		"deleted": func(s *setup) {
			_ = s.cs.CoreV1().Secrets("ns").Delete(t.Context(), jobdef.SecretName("migrate"), metav1.DeleteOptions{})
		},
		"invalid": func(s *setup) {
			sec, _ := s.cs.CoreV1().Secrets("ns").Get(t.Context(), jobdef.SecretName("migrate"), metav1.GetOptions{})
			sec.Labels[jobdef.LabelJob] = "other"
			_, _ = s.cs.CoreV1().Secrets("ns").Update(t.Context(), sec, metav1.UpdateOptions{})
		},
	} {
		t.Run(name, func(t *testing.T) {
			j, _ := endedRun("migrate-1", true, "def-uid")
			s := newSetup(t, nil, notify.Options{}, j)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- s.p.Run(ctx, make(chan struct{})) }()
			defer func() { cancel(); <-done }()
			series := func() int {
				reg := prometheus.NewPedanticRegistry()
				reg.MustRegister(s.metrics.Collectors()...)
				mfs, _ := reg.Gather()
				n := 0
				for _, mf := range mfs {
					for _, m := range mf.GetMetric() {
						for _, l := range m.GetLabel() {
							if l.GetName() == "job" && l.GetValue() == "migrate" {
								n++
							}
						}
					}
				}
				return n
			}
			deadline := time.Now().Add(10 * time.Second)
			for series() == 0 {
				if time.Now().After(deadline) {
					t.Fatal("no series for the run's end")
				}
				time.Sleep(20 * time.Millisecond)
			}
			change(s)
			for series() != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%d series of job migrate left after its definition was %s", series(), name)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
