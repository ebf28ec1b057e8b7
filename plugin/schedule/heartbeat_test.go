package schedule

import (
	"encoding/json"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

func (f *fixture) heartbeat(t *testing.T) *coordinationv1.Lease {
	t.Helper()
	l, err := f.cs.CoordinationV1().Leases("ns").Get(t.Context(), HeartbeatLease, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return l
}

func (f *fixture) leaseWrites() int {
	n := 0
	for _, a := range f.cs.Actions() {
		if a.GetResource().Resource == "leases" && (a.GetVerb() == "update" || a.GetVerb() == "create") {
			n++
		}
	}
	return n
}

// TestHeartbeat: the leader renews the heartbeat of a namespace with
// schedules once per renewal; stopped, it goes stale for Leading.
func TestHeartbeat(t *testing.T) {
	f := newFixture(t, scheduled("a", "0 3 * * *", t0))
	stop := f.start(t)
	waitFor(t, "the heartbeat", func() bool { return f.heartbeat(t) != nil })
	l := f.heartbeat(t)
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" || *l.Spec.LeaseDurationSeconds != 45 ||
		!l.Spec.RenewTime.Time.Equal(t0) {
		t.Fatalf("heartbeat %+v", l.Spec)
	}
	if st, err := Leading(t.Context(), f.cs, "ns", t0.Add(10*time.Second)); err != nil || !st.Leading {
		t.Fatalf("Leading = %+v, %v", st, err)
	}
	for i := 1; i <= 4; i++ {
		f.step(t, DefaultHeartbeat)
		waitFor(t, "a renewal", func() bool { return f.heartbeat(t).Spec.RenewTime.Time.Equal(f.clock.Now()) })
	}
	if w := f.leaseWrites(); w != 5 {
		t.Errorf("%d Lease writes for 5 renewals of one namespace", w)
	}
	if _, err := f.cs.CoordinationV1().Leases("other").Get(t.Context(), HeartbeatLease, metav1.GetOptions{}); err == nil {
		t.Error("a heartbeat in a namespace without schedules")
	}
	stop()
	st, err := Leading(t.Context(), f.cs, "ns", f.clock.Now().Add(46*time.Second))
	if err != nil || st.Leading || st.Holder == "" {
		t.Errorf("stopped leader: Leading = %+v, %v", st, err)
	}
}

// TestHeartbeatBeforeFirstSlot: a new leader writes the heartbeat before
// it triggers any slot, so that list never shows a scheduled run without
// a leader (a missed slot run at once on taking the lead included).
func TestHeartbeatBeforeFirstSlot(t *testing.T) {
	j := scheduled("a", "@every 5s", t0.Add(-16*time.Second))
	j.Spec.StartingDeadline = "1m"
	f := newFixture(t, j)
	var seen []bool
	f.runs.before = func() { seen = append(seen, f.heartbeat(t) != nil) }
	stop := f.start(t)
	waitFor(t, "the first pass", f.clock.HasWaiters)
	time.Sleep(20 * time.Millisecond)
	stop()
	if len(seen) == 0 {
		t.Fatal("the missed slot was not run on taking the lead")
	}
	if !seen[0] {
		t.Error("the first slot was triggered before the heartbeat was written")
	}
}

// TestNoHeartbeatWithoutSchedules: a namespace whose jobs have no
// schedules gets no Lease write.
func TestNoHeartbeatWithoutSchedules(t *testing.T) {
	j := scheduled("a", "@every 5s", t0)
	j.Spec.Schedules = nil
	f := newFixture(t, j)
	stop := f.start(t)
	defer stop()
	f.step(t, DefaultHeartbeat)
	f.step(t, DefaultHeartbeat)
	waitFor(t, "the loop", f.clock.HasWaiters)
	if w := f.leaseWrites(); w != 0 {
		t.Errorf("%d Lease writes without schedules", w)
	}
}

// TestSkipNotRetriedByNewLeader: a slot skipped (Forbid) right before a
// leader change is recorded on the heartbeat; the new leader goes on after
// it instead of trying it again.
func TestSkipNotRetriedByNewLeader(t *testing.T) {
	j := scheduled("a", "@every 5s", t0)
	f := newFixture(t, j)
	f.runs.refuse = &run.ConflictError{Job: "a", Reason: "job a has an active run and its concurrencyPolicy is Forbid"}
	stop := f.start(t)
	f.step(t, 5*time.Second) // slot 10:00:05, skipped
	slot := t0.Truncate(5 * time.Second).Add(5 * time.Second)
	want := map[string]int64{slotPrefix(j, "s"): slot.Unix()}
	waitFor(t, "the skip on the heartbeat", func() bool {
		l := f.heartbeat(t)
		if l == nil {
			return false
		}
		var got map[string]int64
		_ = json.Unmarshal([]byte(l.Annotations[AnnotationHandledSlots]), &got)
		return got[slotPrefix(j, "s")] == want[slotPrefix(j, "s")]
	})
	stop()
	f.runs.mu.Lock()
	f.runs.refuse, f.runs.calls = nil, 0
	f.runs.mu.Unlock()
	// Another replica takes over at once, within the slot's deadline.
	stop = f.start(t)
	defer stop()
	waitFor(t, "the first pass", f.clock.HasWaiters)
	time.Sleep(20 * time.Millisecond)
	f.runs.mu.Lock()
	calls := f.runs.calls
	f.runs.mu.Unlock()
	if calls != 0 {
		t.Fatalf("the new leader tried the skipped slot again (%d triggers)", calls)
	}
	f.step(t, 5*time.Second)
	waitFor(t, "the next slot", func() bool { return f.runs.count() == 1 })
	if !f.runs.slots()[slot.Add(5*time.Second).Unix()] {
		t.Errorf("runs of slots %v, want %d", f.runs.slots(), slot.Add(5*time.Second).Unix())
	}
}
