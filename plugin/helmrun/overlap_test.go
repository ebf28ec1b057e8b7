package helmrun

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	batchv1client "k8s.io/client-go/kubernetes/typed/batch/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef/jobdeftest"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// TestTriggerWritesOverlap: of the sequential round trips of a trigger,
// two pairs go out at once. The release record that takes the lock is
// written while admission lists the job's runs (as of the history read
// before it: UpgradeOptions.Speculate), and the previous record is marked
// superseded while the new one is marked deployed (releaseCache.Update).
// Each request of a pair waits here, outside the fake clientset (which
// serializes its calls), until the other one has begun: made one after
// the other, the first one waits out the timeout and the test fails.
func TestTriggerWritesOverlap(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobdeftest.Secret(t))
	for i := range 2 {
		if _, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", TriggeredBy: "user:test"}); err != nil {
			t.Fatal(err)
		}
		waitReleaseSettled(t, ft, i+1)
	}
	lockAndRuns := newMeeting("the record taking the release (revision 3)", "the LIST of the job's runs")
	records := newMeeting("the previous record marked superseded", "the new record marked deployed")
	g := &gated{Interface: ft.cs, gate: func(verb, resource, name string) {
		switch {
		case verb == "create" && name == releaseKey("migrate", 3):
			lockAndRuns.arrive(t, 0)
		case verb == "list" && resource == "jobs":
			lockAndRuns.arrive(t, 1)
		case verb == "update" && name == releaseKey("migrate", 2):
			records.arrive(t, 0)
		case verb == "update" && name == releaseKey("migrate", 3):
			records.arrive(t, 1)
		}
	}}
	ft.rel.client, ft.Triggerer.Client = g, g
	if _, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", TriggeredBy: "user:test"}); err != nil {
		t.Fatal(err)
	}
	waitReleaseSettled(t, ft, 3)
	lockAndRuns.check(t)
	records.check(t)
}

// TestHealedReleaseIsAdmittedAsOfItsRecord: after a release left pending
// is healed, admission does not read the runs as of the history (the
// killed trigger's Job may come after it) but as of the new record.
func TestHealedReleaseIsAdmittedAsOfItsRecord(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobdeftest.Secret(t))
	if _, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", TriggeredBy: "user:test"}); err != nil {
		t.Fatal(err)
	}
	waitReleaseSettled(t, ft, 1)
	leavePending(t, ft, 1)
	var mu sync.Mutex
	var order []string
	g := &gated{Interface: ft.cs, gate: func(verb, resource, name string) {
		if verb == "create" && name == releaseKey("migrate", 2) {
			// A LIST of the runs made at once comes first.
			time.Sleep(300 * time.Millisecond)
		}
		if verb == "create" && name == releaseKey("migrate", 2) || verb == "list" && resource == "jobs" {
			mu.Lock()
			order = append(order, verb+" "+resource)
			mu.Unlock()
		}
	}}
	ft.rel.client, ft.Triggerer.Client = g, g
	if _, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", TriggeredBy: "user:test"}); err != nil {
		t.Fatal(err)
	}
	if len(order) == 0 || order[0] != "create secrets" {
		t.Errorf("after a heal, requests in order %v: want the record created before the runs are listed", order)
	}
}

// leavePending marks revision rev of the job's release pending, as a
// killed trigger leaves it, created long ago.
func leavePending(t *testing.T, ft *fakeTrigger, rev int) {
	t.Helper()
	secrets := ft.cs.CoreV1().Secrets("ns")
	sec, err := secrets.Get(t.Context(), releaseKey("migrate", rev), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cache := newReleaseCache(secrets, "migrate")
	rel, err := cache.Get(sec.Name)
	if err != nil {
		t.Fatal(err)
	}
	rel.Info.Status = "pending-upgrade"
	pending, err := recordSecret(sec.Name, rel, "modifiedAt")
	if err != nil {
		t.Fatal(err)
	}
	pending.CreationTimestamp = metav1.NewTime(time.Now().Add(-time.Hour))
	pending.Namespace = "ns"
	if err := secrets.Delete(t.Context(), sec.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.Create(t.Context(), pending, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// meeting is two requests that must be in flight at once.
type meeting struct {
	names  [2]string
	here   [2]chan struct{}
	once   [2]sync.Once
	mu     sync.Mutex
	missed []string
}

func newMeeting(a, b string) *meeting {
	return &meeting{names: [2]string{a, b}, here: [2]chan struct{}{make(chan struct{}), make(chan struct{})}}
}

// arrive marks side i begun and waits (a while) for the other side.
func (m *meeting) arrive(t *testing.T, i int) {
	m.once[i].Do(func() { close(m.here[i]) })
	select {
	case <-m.here[1-i]:
	case <-time.After(2 * time.Second):
		m.mu.Lock()
		m.missed = append(m.missed, m.names[i]+" was made alone: "+m.names[1-i]+" did not begin while it was in flight")
		m.mu.Unlock()
	}
}

func (m *meeting) check(t *testing.T) {
	t.Helper()
	for i := range m.here {
		select {
		case <-m.here[i]:
		default:
			t.Errorf("%s: not made", m.names[i])
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.missed {
		t.Error(s)
	}
}

// gated is a clientset whose Secret writes and lists and Job lists call
// gate (verb, resource, name) before they are made.
type gated struct {
	kubernetes.Interface
	gate func(verb, resource, name string)
}

func (g *gated) CoreV1() corev1client.CoreV1Interface {
	return gatedCore{g.Interface.CoreV1(), g.gate}
}

func (g *gated) BatchV1() batchv1client.BatchV1Interface {
	return gatedBatch{g.Interface.BatchV1(), g.gate}
}

type gatedCore struct {
	corev1client.CoreV1Interface
	gate func(verb, resource, name string)
}

func (c gatedCore) Secrets(ns string) corev1client.SecretInterface {
	return gatedSecrets{c.CoreV1Interface.Secrets(ns), c.gate}
}

type gatedSecrets struct {
	corev1client.SecretInterface
	gate func(verb, resource, name string)
}

func (s gatedSecrets) Create(ctx context.Context, sec *corev1.Secret, o metav1.CreateOptions) (*corev1.Secret, error) {
	s.gate("create", "secrets", sec.Name)
	return s.SecretInterface.Create(ctx, sec, o)
}

func (s gatedSecrets) Update(ctx context.Context, sec *corev1.Secret, o metav1.UpdateOptions) (*corev1.Secret, error) {
	s.gate("update", "secrets", sec.Name)
	return s.SecretInterface.Update(ctx, sec, o)
}

func (s gatedSecrets) List(ctx context.Context, o metav1.ListOptions) (*corev1.SecretList, error) {
	s.gate("list", "secrets", "")
	return s.SecretInterface.List(ctx, o)
}

type gatedBatch struct {
	batchv1client.BatchV1Interface
	gate func(verb, resource, name string)
}

func (b gatedBatch) Jobs(ns string) batchv1client.JobInterface {
	return gatedJobs{b.BatchV1Interface.Jobs(ns), b.gate}
}

type gatedJobs struct {
	batchv1client.JobInterface
	gate func(verb, resource, name string)
}

func (j gatedJobs) List(ctx context.Context, o metav1.ListOptions) (*batchv1.JobList, error) {
	j.gate("list", "jobs", "")
	return j.JobInterface.List(ctx, o)
}

// TestRefusedTriggersKeepTheHistoryBounded: a trigger refused by the
// job's rules after it took the release leaves its record, failed; the
// history is pruned after it as after a run (it grew by one record per
// refusal until a trigger succeeded).
func TestRefusedTriggersKeepTheHistoryBounded(t *testing.T) {
	one := int32(1)
	ft := newFakeTrigger(t, 0, jobdeftest.Secret(t, func(j *jobdef.Job) { j.Spec.MaxActiveRuns = &one }))
	ft.PruneByName = true // as the hook server (the fake clientset has no DeleteCollection)
	if _, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", TriggeredBy: "user:test"}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 * (run.MaxHistory + pruneSlack) {
		_, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", TriggeredBy: "user:test"})
		var conflict *run.ConflictError
		if !errors.As(err, &conflict) {
			t.Fatalf("trigger %d while a run is active: %v, want refused", i+2, err)
		}
	}
	list, err := ft.cs.CoreV1().Secrets("ns").List(t.Context(), metav1.ListOptions{LabelSelector: "owner=helm,name=migrate"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.Items); n > run.MaxHistory+pruneSlack {
		t.Errorf("after %d refused triggers the release has %d records, want at most %d", 3*(run.MaxHistory+pruneSlack), n, run.MaxHistory+pruneSlack)
	}
}
