package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// Leader failover: the lease moves while runs end, and no notification is
// lost or sent twice.

// notifyMany triggers runs of job in batches of per, at once within a
// batch, with SIM_DURATION 1s to 4s so that they end over time; before
// batch b it calls between(b).
func notifyMany(t *testing.T, ns, job string, batches, per int, between func(b int)) []string {
	t.Helper()
	var runs []string
	for b := range batches {
		between(b)
		results := make([]cluster.Result, per)
		var wg sync.WaitGroup
		for i := range per {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = shipjob(t, "run", job, "-n", ns, "--param", fmt.Sprintf("SIM_DURATION=%ds", 1+(b*per+i)%4))
			}()
		}
		wg.Wait()
		for _, r := range results {
			if r.Code != 0 {
				t.Fatalf("run: exit %d: %s", r.Code, r.Stderr)
			}
			runs = append(runs, runName(t, r.Stdout))
		}
	}
	return runs
}

// waitAllEnded waits until every run is marked ended and returns their
// notification states by run.
func waitAllEnded(t *testing.T, ns, job string, runs []string, timeout time.Duration) map[string][]notifyState {
	t.Helper()
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	states := map[string][]notifyState{}
	eventually(t, timeout, fmt.Sprintf("%d runs marked ended", len(runs)), func() bool {
		list, err := cs.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "shipjob.dev/kind=run,shipjob.dev/job=" + job})
		if err != nil {
			return false
		}
		for i := range list.Items {
			if s, ended := endState(t, &list.Items[i]); ended != "" {
				states[list.Items[i].Name] = s
			}
		}
		for _, r := range runs {
			if _, ok := states[r]; !ok {
				return false
			}
		}
		return true
	})
	return states
}

// keepServerLogs writes the replicas' logs to $SHIPJOB_KEEP_LOGS (the
// harness's post-mortem dir) when t failed: the 4 KiB tail shown in the test
// log seldom reaches back to a duplicate or a lost delivery.
func keepServerLogs(t *testing.T, replicas map[string]*hookServer) {
	t.Helper()
	dir := os.Getenv("SHIPJOB_KEEP_LOGS")
	if !t.Failed() || dir == "" {
		return
	}
	for id, s := range replicas {
		p := filepath.Join(dir, t.Name()+"-"+id+".log")
		if err := os.MkdirAll(dir, 0o755); err == nil && os.WriteFile(p, []byte(s.logs.String()), 0o644) == nil {
			t.Logf("log of %s in %s", id, p)
		}
	}
}

// countDeliveries counts the receiver's requests by run and by delivery id.
func countDeliveries(rc *receiver) (byRun, byID map[string]int) {
	byRun, byID = map[string]int{}, map[string]int{}
	for _, n := range rc.requests("") {
		byRun[n.body.Run]++
		byID[n.header.Get("X-Shipjob-Delivery")]++
	}
	return byRun, byID
}

// failover is what killLeaderMidway saw.
type failover struct {
	rc             *receiver
	runs           []string
	killed, leader string // the killed leader, the lease holder at the end
	exit           int    // of the killed leader
	byRun, byID    map[string]int
	killedAt       time.Time
}

// killLeaderMidway: two replicas share the lease while batches of 10 runs
// of one job end over time. Before batch killBefore, once notifications
// arrive, the leader gets sig (SIGTERM: its pod deleted; SIGKILL: a crash)
// and a new replica starts. It returns a lease period after every run was
// marked ended, having checked signatures and that each run's one
// notification is recorded delivered.
func killLeaderMidway(t *testing.T, sig syscall.Signal, batches, killBefore int) failover {
	t.Helper()
	ns := cluster.Namespace(t, false)
	f := failover{rc: newReceiver(t, nil)}
	secret := createNotifyJob(t, ns, "many", "--notify", f.rc.url("/many"), "--param", "SIM_DURATION=1s")
	replicas := map[string]*hookServer{}
	for _, id := range []string{"replica-a", "replica-b"} {
		replicas[id] = startNotifier(t, ns, id, allowLocal...)
	}
	t.Cleanup(func() { keepServerLogs(t, replicas) })
	var leader *hookServer
	f.runs = notifyMany(t, ns, "many", batches, 10, func(b int) {
		if b != killBefore {
			return
		}
		eventually(t, 90*time.Second, "the first notifications", func() bool { return f.rc.count("") >= 3 })
		f.killed = waitLeader(t, ns, replicas)
		leader, f.killedAt = replicas[f.killed], time.Now()
		if err := leader.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		t.Logf("leader %s %s after %d notifications", f.killed, sig, f.rc.count(""))
		replicas["replica-c"] = startNotifier(t, ns, "replica-c", allowLocal...)
	})
	states := waitAllEnded(t, ns, "many", f.runs, 3*time.Minute)
	time.Sleep(3 * time.Second) // on purpose: a second sender, if any, has had a lease period to show
	select {
	case <-leader.done:
		f.exit = leader.code
	case <-time.After(60 * time.Second):
		t.Fatalf("the leader did not exit within 60s of %s", sig)
	}
	f.leader = leaseHolder(t, ns)
	f.byRun, f.byID = countDeliveries(f.rc)
	for _, r := range f.runs {
		if s := states[r]; len(s) != 1 || s[0].State != "delivered" {
			t.Errorf("run %s: states %+v, want one delivered", r, s)
		}
	}
	for _, n := range f.rc.requests("") {
		if !signedWith(secret, n) {
			t.Errorf("notification of %s not signed with the job's secret", n.body.Run)
		}
	}
	return f
}

// TestNotifyLeaderKilled: 50 runs end over time; the leader gets SIGTERM
// (as when its pod is deleted) half-way. Every run is notified exactly once.
func TestNotifyLeaderKilled(t *testing.T) {
	t.Parallel()
	f := killLeaderMidway(t, syscall.SIGTERM, 5, 2)
	if f.exit != 0 || f.leader == f.killed || f.leader == "" {
		t.Errorf("leader %s exited %d on SIGTERM; lease holder now %q", f.killed, f.exit, f.leader)
	}
	for _, r := range f.runs {
		if f.byRun[r] != 1 {
			var at []string
			for _, n := range f.rc.forRun(r) {
				at = append(at, n.at.Sub(f.killedAt).Round(time.Millisecond).String())
			}
			t.Errorf("run %s notified %d times, want exactly once (at %v from the SIGTERM)", r, f.byRun[r], at)
		}
	}
	for id, n := range f.byID {
		if id == "" || n != 1 {
			t.Errorf("delivery id %q sent %d times", id, n)
		}
	}
	if len(f.byID) != len(f.runs) || len(f.byRun) != len(f.runs) {
		t.Errorf("%d delivery ids and %d runs notified of %d", len(f.byID), len(f.byRun), len(f.runs))
	}
}

// TestNotifyLeaderSIGKILLedLosesNone: the leader is SIGKILLed while runs
// end; every run is still notified. Exactly once cannot be promised here:
// a leader killed after the receiver answered but before it wrote the
// delivered state on the run's Job leaves the delivery pending, and the
// next leader sends it again (with the same X-Shipjob-Delivery, for
// receivers to drop). Duplicates are only reported.
func TestNotifyLeaderSIGKILLedLosesNone(t *testing.T) {
	t.Parallel()
	f := killLeaderMidway(t, syscall.SIGKILL, 3, 1)
	dups := 0
	for _, r := range f.runs {
		if f.byRun[r] == 0 {
			t.Errorf("run %s was never notified", r)
		}
		dups += max(f.byRun[r]-1, 0)
	}
	t.Logf("SIGKILL: %d runs, %d requests, %d delivery ids, %d duplicates", len(f.runs), f.rc.count(""), len(f.byID), dups)
}
