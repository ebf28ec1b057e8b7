package schedule

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// runs is a fake trigger keyed by idempotency key, like the real one: a
// slot triggered twice (two schedulers, a retry) is one run.
type runs struct {
	mu     sync.Mutex
	byKey  map[string]string
	calls  int
	refuse error  // returned by every trigger when set
	before func() // called first by every trigger when set (not under mu)
}

func (r *runs) trigger(_ context.Context, req run.Request) (*run.Result, error) {
	if r.before != nil {
		r.before()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.refuse != nil {
		return nil, r.refuse
	}
	if req.TriggeredBy == "" || req.IdempotencyKey == "" {
		return nil, fmt.Errorf("request without provenance: %+v", req)
	}
	if err := run.ValidateIdempotencyKey(req.IdempotencyKey); err != nil {
		return nil, err
	}
	if name, ok := r.byKey[req.IdempotencyKey]; ok {
		return &run.Result{Run: name, Unchanged: true}, nil
	}
	name := fmt.Sprintf("%s-%d", req.Job, len(r.byKey))
	r.byKey[req.IdempotencyKey] = name
	return &run.Result{Run: name}, nil
}

func (r *runs) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byKey)
}

func (r *runs) slots() map[int64]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[int64]bool{}
	for k := range r.byKey {
		_, slot, _ := SlotOfKey(k)
		out[slot.Unix()] = true
	}
	return out
}

var t0 = time.Date(2026, 12, 7, 10, 0, 2, 0, time.UTC)

type fixture struct {
	cs    *fake.Clientset
	clock *clocktesting.FakeClock
	runs  *runs
	m     *Metrics
}

func newFixture(t *testing.T, objs ...*jobdef.Job) *fixture {
	t.Helper()
	f := &fixture{cs: fake.NewClientset(), clock: clocktesting.NewFakeClock(t0), runs: &runs{byKey: map[string]string{}}, m: NewMetrics()}
	for _, j := range objs {
		f.put(t, j)
	}
	return f
}

func scheduled(name, expr string, created time.Time) *jobdef.Job {
	j := jobdef.New("ns", name)
	j.Spec.Image = "busybox"
	j.UID = types.UID("0c0e5d4e-3f6a-4b8e-9a51-" + name)
	j.CreationTimestamp = metav1.NewTime(created)
	j.Spec.Schedules = []jobdef.Schedule{{Name: "s", Cron: expr}}
	return j
}

func (f *fixture) put(t *testing.T, j *jobdef.Job) {
	t.Helper()
	sec, err := jobdef.ToSecret(j)
	if err != nil {
		t.Fatal(err)
	}
	sec.UID, sec.CreationTimestamp, sec.ResourceVersion = j.UID, j.CreationTimestamp, ""
	if _, err := f.cs.CoreV1().Secrets("ns").Create(t.Context(), sec, metav1.CreateOptions{}); err != nil {
		if _, err := f.cs.CoreV1().Secrets("ns").Update(t.Context(), sec, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fixture) start(t *testing.T) (stop func()) {
	t.Helper()
	s := New(Config{Client: f.cs, Namespaces: []string{"ns"}, Trigger: f.runs.trigger, Clock: f.clock, Metrics: f.m})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, make(chan struct{})) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// step advances the fake clock once the scheduler waits on it.
func (f *fixture) step(t *testing.T, d time.Duration) {
	t.Helper()
	waitFor(t, "the scheduler to wait", f.clock.HasWaiters)
	f.clock.Step(d)
}

// settle lets the informer deliver an edit and the loop take it.
func (f *fixture) settle(t *testing.T) {
	t.Helper()
	time.Sleep(50 * time.Millisecond)
	waitFor(t, "the scheduler to wait", f.clock.HasWaiters)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (f *fixture) outcome(o string) float64 {
	return testutil.ToFloat64(f.m.runs.WithLabelValues("ns", "a", o))
}

func (f *fixture) events(t *testing.T, reason string) int {
	evs, err := f.cs.CoreV1().Events("ns").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs.Items {
		if e.Reason == reason && e.InvolvedObject.Name == jobdef.SecretName("a") {
			n++
		}
	}
	return n
}

// TestEveryFiveSeconds: one run per slot, each recording its slot.
func TestEveryFiveSeconds(t *testing.T) {
	f := newFixture(t, scheduled("a", "@every 5s", t0))
	stop := f.start(t)
	defer stop()
	for i := 1; i <= 12; i++ {
		f.step(t, 5*time.Second)
		waitFor(t, fmt.Sprintf("run %d", i), func() bool { return f.runs.count() == i })
	}
	for s := range f.runs.slots() {
		if s%5 != 0 || s <= t0.Unix() || s > t0.Add(time.Minute).Unix() {
			t.Errorf("slot %d is not a 5s slot of the minute", s)
		}
	}
	waitFor(t, "12 RunScheduled events", func() bool { return f.events(t, ReasonScheduled) == 12 })
	if got := f.outcome("triggered"); got != 12 {
		t.Errorf("triggered = %v, want 12", got)
	}
}

// TestStartedAfterMissedSlots: a server started after 3 missed slots runs
// the most recent one only; 200 missed slots are one Event.
func TestStartedAfterMissedSlots(t *testing.T) {
	for _, c := range []struct {
		expr     string
		created  time.Duration
		deadline string
		runs     int
		missed   float64
	}{
		{"@every 5s", 16 * time.Second, "1m", 1, 2},
		{"@every 1s", 199*time.Second + 500*time.Millisecond, "none", 1, 199},
		{"@every 1s", 199*time.Second + 500*time.Millisecond, "1m", 1, 199},
		{"0 * * * *", 3 * time.Hour, "1m", 0, 3}, // 10:00:02 is within 1m of 10:00
		{"30 * * * *", 3 * time.Hour, "1m", 0, 3},
		{"30 * * * *", 3 * time.Hour, "none", 1, 2},
	} {
		t.Run(fmt.Sprintf("%s %s deadline %s", c.expr, c.created, c.deadline), func(t *testing.T) {
			j := scheduled("a", c.expr, t0.Add(-c.created))
			j.Spec.StartingDeadline = c.deadline
			f := newFixture(t, j)
			stop := f.start(t)
			waitFor(t, "the first pass", f.clock.HasWaiters)
			time.Sleep(20 * time.Millisecond)
			stop()
			if c.expr == "0 * * * *" {
				c.runs, c.missed = 1, 2
			}
			if f.runs.count() != c.runs || f.outcome("missed") != c.missed {
				t.Errorf("runs %d, missed %v; want %d, %v", f.runs.count(), f.outcome("missed"), c.runs, c.missed)
			}
			if f.events(t, ReasonMissed) != 1 {
				t.Errorf("%d ScheduleMissed events, want 1", f.events(t, ReasonMissed))
			}
		})
	}
}

// TestRacingSchedulers: two schedulers on one slot make one run.
func TestRacingSchedulers(t *testing.T) {
	f := newFixture(t, scheduled("a", "@every 5s", t0))
	stop1 := f.start(t)
	defer stop1()
	stop2 := f.start(t)
	defer stop2()
	waitFor(t, "both to wait", func() bool { return f.clock.Waiters() == 2 })
	f.clock.Step(5 * time.Second)
	waitFor(t, "two triggers", func() bool { f.runs.mu.Lock(); defer f.runs.mu.Unlock(); return f.runs.calls == 2 })
	if f.runs.count() != 1 {
		t.Errorf("%d runs of one slot", f.runs.count())
	}
}

// TestForbidSkips: a refused slot is skipped and recorded, not retried.
func TestForbidSkips(t *testing.T) {
	f := newFixture(t, scheduled("a", "@every 5s", t0))
	f.runs.refuse = &run.ConflictError{Job: "a", Reason: "job a has an active run and its concurrencyPolicy is Forbid"}
	stop := f.start(t)
	defer stop()
	f.step(t, 5*time.Second)
	waitFor(t, "the skip", func() bool { return f.outcome("skipped") == 1 })
	f.step(t, 5*time.Second)
	waitFor(t, "the second skip", func() bool { return f.outcome("skipped") == 2 })
	f.runs.mu.Lock()
	calls := f.runs.calls
	f.runs.mu.Unlock()
	if calls != 2 {
		t.Errorf("%d triggers for 2 slots: a skip was retried", calls)
	}
	waitFor(t, "ScheduleSkipped events", func() bool { return f.events(t, ReasonSkipped) == 2 })
}

// TestEditsTakeEffect: a schedule added, suspended, resumed and the job
// deleted, each seen at once.
func TestEditsTakeEffect(t *testing.T) {
	j := scheduled("a", "@every 5s", t0)
	j.Spec.Schedules = nil
	f := newFixture(t, j)
	stop := f.start(t)
	defer stop()
	f.step(t, 5*time.Second)
	j.Spec.Schedules = []jobdef.Schedule{{Name: "s", Cron: "@every 5s"}}
	f.put(t, j)
	f.settle(t)
	f.step(t, 5*time.Second)
	waitFor(t, "the first run", func() bool { return f.runs.count() == 1 })
	j.Spec.Schedules[0].Suspend = true
	f.put(t, j)
	f.settle(t)
	for range 3 {
		f.step(t, 5*time.Second)
	}
	j.Spec.Schedules[0].Suspend = false
	f.put(t, j)
	f.settle(t)
	if f.runs.count() != 1 {
		t.Fatalf("%d runs: suspended slots ran (or resume burst)", f.runs.count())
	}
	f.step(t, 5*time.Second)
	waitFor(t, "the run after resume", func() bool { return f.runs.count() == 2 })
	if err := f.cs.CoreV1().Secrets("ns").Delete(t.Context(), jobdef.SecretName("a"), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	f.settle(t)
	f.step(t, 5*time.Second)
	f.step(t, 5*time.Second)
	if f.runs.count() != 2 {
		t.Errorf("a deleted job ran: %d runs", f.runs.count())
	}
}

// TestNewLeaderGoesOn: a new leader goes on after the slots runs record.
func TestNewLeaderGoesOn(t *testing.T) {
	j := scheduled("a", "@every 5s", t0.Add(-time.Hour))
	f := newFixture(t, j)
	last := t0.Truncate(5 * time.Second) // 10:00:00, already run
	key := Key(string(j.UID), "s", last)
	_, err := f.cs.BatchV1().Jobs("ns").Create(t.Context(), &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "a-x", Namespace: "ns",
		Labels:      map[string]string{run.LabelKind: run.KindRun, run.LabelJob: "a"},
		Annotations: map[string]string{run.AnnotationIdempotencyKey: key}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.runs.byKey[key] = "a-x"
	stop := f.start(t)
	defer stop()
	waitFor(t, "the first pass", f.clock.HasWaiters)
	time.Sleep(20 * time.Millisecond)
	f.runs.mu.Lock()
	calls := f.runs.calls
	f.runs.mu.Unlock()
	if calls != 0 || f.outcome("missed") != 0 {
		t.Fatalf("the new leader triggered %d times, missed %v", calls, f.outcome("missed"))
	}
	f.step(t, 5*time.Second)
	waitFor(t, "the next slot", func() bool { return f.runs.count() == 2 })
}

// TestFutureSlotsDoNotHoldBack: a run's key or a heartbeat naming a slot
// far in the future (written by hand) does not stop a new leader from
// running the next slot.
func TestFutureSlotsDoNotHoldBack(t *testing.T) {
	j := scheduled("a", "@every 5s", t0.Add(-time.Hour))
	f := newFixture(t, j)
	future := t0.Add(24 * 365 * time.Hour).Truncate(5 * time.Second)
	key := Key(string(j.UID), "s", future)
	_, err := f.cs.BatchV1().Jobs("ns").Create(t.Context(), &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "a-x", Namespace: "ns",
		Labels:      map[string]string{run.LabelKind: run.KindRun, run.LabelJob: "a"},
		Annotations: map[string]string{run.AnnotationIdempotencyKey: key}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.cs.CoordinationV1().Leases("ns").Create(t.Context(), &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: HeartbeatLease, Namespace: "ns",
		Annotations: map[string]string{AnnotationHandledSlots: fmt.Sprintf(`{%q: %d}`, slotPrefix(j, "s"), future.Unix())}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.runs.byKey[key] = "a-x"
	stop := f.start(t)
	defer stop()
	waitFor(t, "the first pass", f.clock.HasWaiters)
	f.step(t, 5*time.Second)
	waitFor(t, "the next slot despite the future ones", func() bool { return f.runs.count() >= 2 })
}

// TestUnreadableHeartbeat: a heartbeat whose handled slots are not JSON (the
// Lease is input) costs only that baseline: the schedule goes on.
func TestUnreadableHeartbeat(t *testing.T) {
	j := scheduled("a", "@every 5s", t0.Add(-time.Hour))
	f := newFixture(t, j)
	_, err := f.cs.CoordinationV1().Leases("ns").Create(t.Context(), &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: HeartbeatLease, Namespace: "ns",
		Annotations: map[string]string{AnnotationHandledSlots: `{"schedule:s:` + "\x00" + `": "soon"`}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stop := f.start(t)
	defer stop()
	waitFor(t, "the first pass", f.clock.HasWaiters)
	f.step(t, 5*time.Second)
	waitFor(t, "the next slot despite the unreadable heartbeat", func() bool { return f.runs.count() >= 1 })
}
