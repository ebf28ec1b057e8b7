package runend

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

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
			// From the tracker: no request a test counts.
			o, err := s.cs.Tracker().Get(batchv1.SchemeGroupVersion.WithResource("jobs"), "ns", r)
			if j, ok := o.(*batchv1.Job); err == nil && ok && j.Annotations[run.AnnotationEnded] != "" {
				out[r] = j.DeepCopy()
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
