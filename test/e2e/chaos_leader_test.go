//go:build chaos

package e2e

import (
	"context"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// TestChaosLeaderKilledDuringOutage: a job on @every 5s whose runs notify;
// two replicas. kube-apiserver is SIGKILLed, and a second later the
// leading replica too; after 8 s the API server comes back and a third
// replica starts. Every slot before the outage and after the takeover ran
// once; of the slots due while no one could run them, the most recent ran
// once and the others are a ScheduleMissed Event; no slot ran twice; every
// ended run was notified, each with one delivery id.
func TestChaosLeaderKilledDuringOutage(t *testing.T) {
	ns := cluster.Namespace(t, false)
	rc := newReceiver(t, nil)
	createNotifyJob(t, ns, "tick", "--notify", rc.url("/tick"), "--param", "SIM_DURATION=1s", "--schedule", "every=@every 5s")
	replicas := map[string]*hookServer{}
	for _, id := range []string{"replica-a", "replica-b"} {
		replicas[id] = startNotifier(t, ns, id, allowLocal...)
	}
	t.Cleanup(func() { keepServerLogs(t, replicas) })
	leader := waitLeader(t, ns, replicas)
	eventually(t, 30*time.Second, "two scheduled runs", func() bool { return len(scheduledRuns(t, ns, "tick")) >= 2 })

	down := time.Now()
	if err := cluster.Shared.Kill(cluster.APIServerBin); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // on purpose: the leader is killed while the API is away
	if err := replicas[leader].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(7 * time.Second) // on purpose: the outage lasts 8 s in all
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cluster.Shared.Restart(ctx, cluster.APIServerBin); err != nil {
		t.Fatalf("restart kube-apiserver: %v", err)
	}
	healed := time.Now()
	replicas["replica-c"] = startNotifier(t, ns, "replica-c", allowLocal...)
	var took string
	eventually(t, 60*time.Second, "a new leader", func() bool {
		took = leaseHolder(t, ns)
		return took != leader && replicas[took] != nil
	})
	takeover := time.Now()
	time.Sleep(16 * time.Second) // on purpose: three slots after the takeover
	must(t, ns, "suspend", "tick")
	time.Sleep(2 * time.Second) // on purpose: a slot being triggered finishes

	runs := scheduledRuns(t, ns, "tick") // fails t on a slot run twice
	var slots []int64
	for s := range runs {
		slots = append(slots, s)
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i] < slots[j] })
	due := func(s int64) time.Time { return time.Unix(s, 0) }
	inOutage := 0
	var lastOutage int64
	for s := slots[0]; s <= slots[len(slots)-1]; s += 5 {
		_, ran := runs[s]
		switch at := due(s); {
		case at.Before(down):
			if !ran {
				t.Errorf("slot %s before the outage did not run", at.Format(time.TimeOnly))
			}
		case at.After(takeover.Add(time.Second)):
			if !ran {
				t.Errorf("slot %s after the takeover did not run", at.Format(time.TimeOnly))
			}
		default:
			inOutage++
			if ran {
				lastOutage = s
			}
		}
	}
	missed := scheduleEvents(t, ns, "tick", "ScheduleMissed")
	if inOutage > 0 && lastOutage == 0 {
		t.Errorf("none of the %d slots due during the outage ran: the most recent must", inOutage)
	}
	if inOutage > 1 && missed == 0 {
		t.Errorf("%d slots due during the outage and no ScheduleMissed Event", inOutage)
	}
	names := runJobs(t, ns, "tick")
	states := waitAllEnded(t, ns, "tick", names, 2*time.Minute)
	time.Sleep(3 * time.Second) // on purpose: a second sender, if any, has had a lease period to show
	ids := map[string]map[string]bool{}
	for _, n := range rc.requests("") {
		if ids[n.body.Run] == nil {
			ids[n.body.Run] = map[string]bool{}
		}
		ids[n.body.Run][n.header.Get("X-Shipjob-Delivery")] = true
	}
	byRun, _ := countDeliveries(rc)
	dups := 0
	for _, r := range names {
		if byRun[r] == 0 {
			t.Errorf("run %s was never notified", r)
		}
		if len(ids[r]) > 1 {
			t.Errorf("run %s notified with %d delivery ids, want one", r, len(ids[r]))
		}
		dups += max(byRun[r]-1, 0)
		if s := states[r]; len(s) != 1 || s[0].State != "delivered" {
			t.Errorf("run %s: states %+v, want one delivered", r, s)
		}
	}
	t.Logf("FAULT leader SIGKILLed during an 8 s API outage: %d slots ran once (%d due during the outage, %d ScheduleMissed Events, "+
		"the latest of them ran: %v), new leader %s %s after the API server was back, %d notifications for %d runs (%d resent with the same delivery id)",
		len(runs), inOutage, missed, lastOutage != 0, took, takeover.Sub(healed).Round(time.Millisecond), rc.count(""), len(names), dups)
}
