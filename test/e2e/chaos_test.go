//go:build chaos

package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// underFault runs 10 clients (8 through two hook replicas with keyed
// retries, 2 `kubectl shipjob run --idempotency-key` loops) against one
// job whose runs notify a receiver, breaks the control plane with fault
// for outage, heals it, and checks exactly-once results and
// notifications.
//
// A killed kube-apiserver refuses connections: hook clients get 503, the
// CLI exits 75, and retry. A paused etcd leaves kube-apiserver up and
// waiting on it: requests hang until etcd is back (kube-apiserver's own
// etcd timeout is longer than the pause) and then succeed, or get 503 when
// the hook server's deadline passes; either way no wrong answer and no
// lost or doubled run. refused says which is expected.
func underFault(t *testing.T, what string, outage time.Duration, refused bool, fault func() error, heal func(context.Context) error) {
	ns := cluster.Namespace(t, false)
	rc := newReceiver(t, nil)
	createNotifyJob(t, ns, "chaos", "--notify", rc.url("/chaos"), "--param", "SIM_DURATION=1s")
	_, token := createHook(t, ns, "chaos", "chaos")
	replicas := map[string]*hookServer{}
	for _, id := range []string{"replica-a", "replica-b"} {
		replicas[id] = startNotifier(t, ns, id, append([]string{"--rate-limit", "0"}, allowLocal...)...)
	}
	t.Cleanup(func() { keepServerLogs(t, replicas) })
	waitLeader(t, ns, replicas)
	l := &chaosLoad{ns: ns, job: "chaos", token: token, hookClients: 8, cliClients: 2,
		urls: []string{replicas["replica-a"].URL, replicas["replica-b"].URL}}
	l.start(t)
	time.Sleep(3 * time.Second) // on purpose: load before the fault
	down := time.Now()
	if err := fault(); err != nil {
		l.stop.Store(true)
		t.Fatalf("%s: %v", what, err)
	}
	notReady := false
	for time.Since(down) < outage {
		if code, _, _ := hookCall(http.MethodGet, replicas["replica-a"].URL+"/readyz", "", "", ""); code == http.StatusServiceUnavailable {
			notReady = true
		}
		time.Sleep(250 * time.Millisecond) // on purpose: the fault lasts outage
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The fault ends when the heal begins: a restarted kube-apiserver
	// serves requests seconds before its /readyz says ok.
	healed := time.Now()
	if err := heal(ctx); err != nil {
		l.stop.Store(true)
		t.Fatalf("heal after %s: %v", what, err)
	}
	ready := time.Since(healed)
	l.finish(t, healed)
	r := l.check(t, down, healed)

	runs := runJobs(t, ns, "chaos")
	states := waitAllEnded(t, ns, "chaos", runs, 3*time.Minute)
	time.Sleep(3 * time.Second) // on purpose: a second sender, if any, has had a lease period to show
	byRun, byID := countDeliveries(rc)
	dups, lost := 0, 0
	for _, run := range runs {
		switch n := byRun[run]; {
		case n == 0:
			lost++
			t.Errorf("run %s ended but was never notified", run)
		case n > 1:
			dups += n - 1
			t.Errorf("run %s notified %d times, want once", run, n)
		}
		if s := states[run]; len(s) != 1 || s[0].State != "delivered" {
			t.Errorf("run %s: notification states %+v, want one delivered", run, s)
		}
	}
	for id, n := range byID {
		if n != 1 {
			t.Errorf("delivery id %q sent %d times", id, n)
		}
	}
	if refused && (r.hook503 == 0 || r.cli75 == 0) {
		t.Errorf("%s: %d hook 503s and %d CLI exits 75: the fault was not seen", what, r.hook503, r.cli75)
	}
	if !refused && r.hook503+r.cli75+r.waited == 0 {
		t.Errorf("%s: no request was refused or waited: the fault was not seen", what)
	}
	if !notReady {
		t.Errorf("%s: /readyz never failed during the fault", what)
	}
	t.Logf("FAULT %s for %s: %d keys, %d successes, %d runs (exactly once: %v), %d hook 503s, %d CLI exit 75s, "+
		"%d requests waited through the fault (longest %s), healed (ready) in %s, first success %s and every client's %s after the heal began, "+
		"%d notifications for %d ended runs (%d duplicates, %d lost)",
		what, outage, r.keys, r.successes, r.runs, !t.Failed(), r.hook503, r.cli75, r.waited, r.maxWait.Round(time.Millisecond), ready.Round(time.Millisecond),
		r.healFirst.Round(time.Millisecond), r.healAll.Round(time.Millisecond), rc.count(""), len(runs), dups, lost)
}

// TestChaosAPIServerKilled: kube-apiserver SIGKILLed for 5 s, restarted
// with its arguments and ports.
func TestChaosAPIServerKilled(t *testing.T) {
	underFault(t, "kube-apiserver SIGKILLed", 5*time.Second, true,
		func() error { return cluster.Shared.Kill(cluster.APIServerBin) },
		func(ctx context.Context) error { return cluster.Shared.Restart(ctx, cluster.APIServerBin) })
}

// TestChaosEtcdPaused: etcd SIGSTOPped for 10 s (kube-apiserver up,
// waiting on it), then SIGCONT.
func TestChaosEtcdPaused(t *testing.T) {
	underFault(t, "etcd paused", 10*time.Second, false,
		func() error { return cluster.Shared.Pause(cluster.EtcdBin) },
		func(ctx context.Context) error { return cluster.Shared.Resume(cluster.EtcdBin) })
}
