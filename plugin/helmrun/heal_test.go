package helmrun

import (
	"errors"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/release"
	helmtime "helm.sh/helm/v3/pkg/time"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// seedPending stores a pending record created at created (server time).
func seedPending(t *testing.T, cs *fake.Clientset, created time.Time) {
	t.Helper()
	seedRelease(t, cs, release.StatusPendingUpgrade, created)
	s, err := cs.CoreV1().Secrets("ns").Get(t.Context(), releaseKey("job", 3), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.CreationTimestamp = metav1.Time{Time: created}
	s.ResourceVersion = "41"
	if _, err := cs.CoreV1().Secrets("ns").Update(t.Context(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// skewed is a server clock whose time is local time + offset.
func skewed(offset time.Duration) *run.ServerClock {
	c := &run.ServerClock{}
	now := time.Now()
	c.Observe(now.Add(offset).Truncate(time.Second), now, now)
	return c
}

func healOnce(t *testing.T, cs *fake.Clientset, clock *run.ServerClock) error {
	t.Helper()
	cache := newReleaseCache(cs.CoreV1().Secrets("ns"), "job")
	if err := cache.load(); err != nil {
		t.Fatal(err)
	}
	return heal(t.Context(), cache, releaseKey("job", 3), run.UpgradeOptions{Clock: clock, StaleAfter: 20 * time.Second})
}

func recordStatus(t *testing.T, cs *fake.Clientset) release.Status {
	t.Helper()
	r, err := newReleaseCache(cs.CoreV1().Secrets("ns"), "job").Secrets.Get(releaseKey("job", 3))
	if err != nil {
		t.Fatal(err)
	}
	return r.Info.Status
}

// TestHealUsesServerClock (review M2): a record's age is the server's
// time since its Secret's creation, whatever the local clock says.
func TestHealUsesServerClock(t *testing.T) {
	for name, tc := range map[string]struct {
		localAhead, age time.Duration
		heal            bool
	}{
		"live trigger, local clock a minute ahead":  {time.Minute, 5 * time.Second, false},
		"left pending, local clock a minute behind": {-time.Minute, 30 * time.Second, true},
		"live trigger, clocks agree":                {0, 5 * time.Second, false},
		"left pending, clocks agree":                {0, 30 * time.Second, true},
	} {
		t.Run(name, func(t *testing.T) {
			cs := fake.NewClientset()
			clock := skewed(-tc.localAhead)
			seedPending(t, cs, clock.Now().Add(-tc.age))
			err := healOnce(t, cs, clock)
			healed := recordStatus(t, cs) == release.StatusFailed
			if healed != tc.heal || (tc.heal && err != nil) || (!tc.heal && !errors.Is(err, errBusy)) {
				t.Fatalf("healed %v (err %v), want healed %v", healed, err, tc.heal)
			}
		})
	}
}

// TestHealWritesAtTheVersionItRead: the heal's update carries the
// resourceVersion it read, and a Conflict (the live trigger finished in
// between) leaves the record alone and retries.
func TestHealWritesAtTheVersionItRead(t *testing.T) {
	cs := fake.NewClientset()
	seedPending(t, cs, time.Now().Add(-time.Minute))
	var sentRV string
	cs.PrependReactor("update", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sentRV = a.(k8stesting.UpdateAction).GetObject().(*corev1.Secret).ResourceVersion
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, releaseKey("job", 3), errors.New("changed"))
	})
	if err := healOnce(t, cs, nil); !errors.Is(err, errBusy) {
		t.Fatalf("heal on conflict: %v, want errBusy", err)
	}
	if sentRV != "41" {
		t.Errorf("heal updated at resourceVersion %q, want the one it read (41)", sentRV)
	}
	if st := recordStatus(t, cs); st != release.StatusPendingUpgrade {
		t.Errorf("record is %s after a conflicting heal", st)
	}
}

// TestPruneFallsBackToDeleteByName (review H2): where DeleteCollection is
// forbidden (the hook chart's Role grants delete only), history is pruned
// with one Delete per record, and the Triggerer remembers not to try the
// collection again.
func TestPruneFallsBackToDeleteByName(t *testing.T) {
	cs := fake.NewClientset()
	for v := 1; v <= 12; v++ {
		rel := &release.Release{Name: "job", Namespace: "ns", Version: v,
			Info: &release.Info{Status: release.StatusSuperseded, LastDeployed: helmtime.Now()}}
		if v == 12 {
			rel.Info.Status = release.StatusDeployed
		}
		if err := newReleaseCache(cs.CoreV1().Secrets("ns"), "job").Secrets.Create(releaseKey("job", v), rel); err != nil {
			t.Fatal(err)
		}
	}
	collections := 0
	cs.PrependReactor("delete-collection", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		collections++
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", errors.New("no deletecollection"))
	})
	var failures int
	tr, o := &releaser{}, run.UpgradeOptions{OnPruneFailure: func(_, _ string, n int, _ error) { failures += n }}
	for range 2 {
		cache := newReleaseCache(cs.CoreV1().Secrets("ns"), "job")
		if err := cache.load(); err != nil {
			t.Fatal(err)
		}
		tr.prune(t.Context(), cache, "ns", "job", o)
		// Two more records, as two more triggers would add.
		for _, v := range []int{13, 14, 15, 16, 17, 18} {
			if _, err := cs.CoreV1().Secrets("ns").Get(t.Context(), releaseKey("job", v), metav1.GetOptions{}); err == nil {
				continue
			}
			rel := &release.Release{Name: "job", Namespace: "ns", Version: v, Info: &release.Info{Status: release.StatusSuperseded}}
			_ = newReleaseCache(cs.CoreV1().Secrets("ns"), "job").Secrets.Create(releaseKey("job", v), rel)
			break
		}
	}
	list, _ := cs.CoreV1().Secrets("ns").List(t.Context(), metav1.ListOptions{})
	if n := len(list.Items); n > run.MaxHistory+pruneSlack {
		t.Errorf("%d records after pruning, want at most %d", n, run.MaxHistory+pruneSlack)
	}
	if collections != 1 || failures != 0 {
		t.Errorf("%d DeleteCollections, %d failures: want 1 (then by name) and 0", collections, failures)
	}
}

// TestPruneFailureIsReported: a prune that cannot delete is told.
func TestPruneFailureIsReported(t *testing.T) {
	cs := fake.NewClientset()
	for v := 1; v <= 10; v++ {
		rel := &release.Release{Name: "job", Namespace: "ns", Version: v, Info: &release.Info{Status: release.StatusSuperseded}}
		_ = newReleaseCache(cs.CoreV1().Secrets("ns"), "job").Secrets.Create(releaseKey("job", v), rel)
	}
	forbid := func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", errors.New("no"))
	}
	cs.PrependReactor("delete-collection", "secrets", forbid)
	cs.PrependReactor("delete", "secrets", forbid)
	var failures int
	tr, o := &releaser{}, run.UpgradeOptions{OnPruneFailure: func(_, _ string, n int, _ error) { failures += n }}
	cache := newReleaseCache(cs.CoreV1().Secrets("ns"), "job")
	_ = cache.load()
	tr.prune(t.Context(), cache, "ns", "job", o)
	if failures != 10-run.MaxHistory {
		t.Errorf("%d failures reported, want %d", failures, 10-run.MaxHistory)
	}
}

// TestReleaseOwnWhenTheAPIServerIsBack: the record a trigger created and
// left pending (Helm cut off from the API server) is marked failed by its
// own process as soon as the API server answers again, not StaleAfter
// later; a record no longer pending, or changed in between, is left alone.
func TestReleaseOwnWhenTheAPIServerIsBack(t *testing.T) {
	for name, tc := range map[string]struct {
		status   release.Status
		conflict bool
		want     release.Status
	}{
		"pending":            {release.StatusPendingUpgrade, false, release.StatusFailed},
		"recorded by Helm":   {release.StatusDeployed, false, release.StatusDeployed},
		"changed in between": {release.StatusPendingUpgrade, true, release.StatusPendingUpgrade},
	} {
		t.Run(name, func(t *testing.T) {
			cs := fake.NewClientset()
			seedRelease(t, cs, tc.status, time.Now()) // created now: the stale heal would wait 20 s
			gets := 0
			cs.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
				if gets++; gets <= 2 {
					return true, nil, apierrors.NewServiceUnavailable("the API server is away")
				}
				return false, nil, nil
			})
			if tc.conflict {
				cs.PrependReactor("update", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, releaseKey("job", 3), errors.New("changed"))
				})
			}
			start := time.Now()
			releaseOwn(cs.CoreV1().Secrets("ns"), "job", releaseKey("job", 3), 10*time.Millisecond)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("released after %s", took)
			}
			if gets < 3 {
				t.Errorf("%d reads, want it to retry until the API server answers", gets)
			}
			if st := recordStatus(t, cs); st != tc.want {
				t.Errorf("record is %s, want %s", st, tc.want)
			}
		})
	}
}
