package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// TestScheduleBadInput: bad schedule flags are one line on stderr naming
// the schedule and why, a non-zero exit, nothing on stdout, and no change
// in the namespace.
func TestScheduleBadInput(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	must(t, ns, "create", "exists", "--image", "busybox", "--required-param", "TICKET", "--param", "N=1", "--param-type", "N=integer",
		"--secret-param", "N", "--schedule", "nightly=0 3 * * *", "--schedule-param", "nightly:TICKET=OPS-1",
		"--schedule-secret-param", "nightly:N=tok/n")
	c := func(args ...string) []string { return append([]string{"create", "x", "--image", "busybox"}, args...) }
	s := func(args ...string) []string { return append([]string{"set", "exists"}, args...) }
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"bad expression", c("--schedule", "a=61 * * * *"), `schedule "a": invalid cron expression "61 * * * *"`},
		{"six fields", c("--schedule", "a=0 0 3 * * *"), `schedule "a": invalid cron expression`},
		{"zone in expression", c("--schedule", "a=CRON_TZ=UTC 0 3 * * *"), "not in the expression"},
		{"every too short", c("--schedule", "a=@every 100ms"), "@every must be whole seconds"},
		{"unknown zone", c("--schedule", "a=@daily", "--time-zone", "a=Mars/Olympus"), `schedule "a": unknown time zone "Mars/Olympus"`},
		{"zone of no schedule", c("--time-zone", "a=UTC"), `--time-zone: the job has no schedule "a"`},
		{"bad schedule name", c("--schedule", "A=@daily"), `invalid schedule name "A"`},
		{"unknown parameter", c("--schedule", "a=@daily", "--schedule-param", "a:NOPE=1"), `schedule "a": unknown parameter "NOPE"`},
		{"bad deadline", c("--starting-deadline", "soon"), `invalid startingDeadline "soon"`},
		{"set missing required", s("--schedule", "hourly=@hourly"), `schedule "hourly": missing required parameter "TICKET"`},
		{"set secret in clear", s("--schedule-param", "nightly:N=2"), `parameter "N" is secret`},
		{"set unset unknown", s("--unset-schedule", "nope"), `the job has no schedule "nope"`},
		{"suspend unknown", []string{"suspend", "exists", "--schedule", "nope"}, `job exists has no schedule "nope"`},
		{"suspend without schedules", []string{"suspend", "missing"}, "not found"},
	}
	for _, tc := range cases {
		before := snapshot(t, ns)
		res := sj(t, ns, "", nil, tc.args...)
		switch {
		case res.Code == 0:
			t.Errorf("%s: exit 0, want an error (stderr %q)", tc.name, res.Stderr)
		case !strings.Contains(res.Stderr, tc.want):
			t.Errorf("%s: stderr %q, want it to contain %q", tc.name, res.Stderr, tc.want)
		case strings.Count(res.Stderr, "\n") != 1 || res.Stdout != "":
			t.Errorf("%s: want one line on stderr and nothing on stdout, got stdout %q, stderr %q", tc.name, res.Stdout, res.Stderr)
		}
		if after := snapshot(t, ns); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("%s: the namespace changed:\nbefore %v\nafter  %v", tc.name, before, after)
		}
	}
}

// TestScheduleRoundTrip: schedules survive get -o yaml | apply -f, and
// list says when no hook server leads.
func TestScheduleRoundTrip(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	must(t, ns, "create", "rt", "--image", "busybox", "--schedule", "nightly=0 3 * * *", "--time-zone", "nightly=Europe/Helsinki",
		"--starting-deadline", "5m")
	yaml := must(t, ns, "get", "rt", "-o", "yaml")
	for _, want := range []string{"cron: 0 3 * * *", "timeZone: Europe/Helsinki", "startingDeadline: 5m"} {
		if !strings.Contains(yaml, want) {
			t.Fatalf("get -o yaml lacks %q:\n%s", want, yaml)
		}
	}
	if out := sj(t, ns, yaml, nil, "apply", "-f", "-"); out.Code != 0 || !strings.Contains(out.Stdout, "unchanged") {
		t.Fatalf("apply of get -o yaml: %d %q %q", out.Code, out.Stdout, out.Stderr)
	}
	res := sj(t, ns, "", nil, "list")
	if res.Code != 0 || !strings.Contains(res.Stdout, "<no leader>") || !strings.Contains(res.Stderr, "Warning: schedules do not run in namespace "+ns+": no hook server has run schedules here") {
		t.Errorf("list without a hook server: %q %q", res.Stdout, res.Stderr)
	}
	must(t, ns, "suspend", "rt")
	if out := must(t, ns, "get", "rt"); !strings.Contains(out, "suspended") {
		t.Errorf("get after suspend:\n%s", out)
	}
}

// scheduledRuns maps the slot (unix seconds, from the idempotency key) of
// each run of job to the lag from the slot to the Job's creation.
func scheduledRuns(t *testing.T, ns, job string) map[int64]time.Duration {
	t.Helper()
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	list, err := cs.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "shipjob.dev/kind=run,shipjob.dev/job=" + job})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]time.Duration{}
	for _, j := range list.Items {
		key := j.Annotations["shipjob.dev/idempotency-key"]
		parts := strings.Split(key, ":")
		if len(parts) != 4 || parts[0] != "schedule" || !strings.HasPrefix(j.Annotations["shipjob.dev/triggered-by"], "schedule:") {
			t.Errorf("run %s has no schedule key: %q", j.Name, key)
			continue
		}
		sec, _ := strconv.ParseInt(parts[3], 10, 64)
		if _, dup := out[sec]; dup {
			t.Errorf("slot %d ran twice", sec)
		}
		out[sec] = j.CreationTimestamp.Sub(time.Unix(sec, 0))
	}
	return out
}

// TestScheduleEveryFiveSeconds: two replicas, @every 5s for 60 s: 12 ± 1
// runs, no slot twice, the leader SIGKILLed mid-way duplicates none.
func TestScheduleEveryFiveSeconds(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	replicas := map[string]*hookServer{"a": startNotifier(t, ns, "a"), "b": startNotifier(t, ns, "b")}
	leader := waitLeader(t, ns, replicas)
	must(t, ns, "create", "tick", "--image", "busybox", "--max-active-runs", "0", "--schedule", "every=@every 5s")
	start := time.Now()
	time.Sleep(30 * time.Second)
	_ = replicas[leader].cmd.Process.Kill()
	time.Sleep(time.Until(start.Add(60 * time.Second)))
	must(t, ns, "suspend", "tick")
	time.Sleep(2 * time.Second)
	runs := scheduledRuns(t, ns, "tick")
	if n := len(runs); n < 11 || n > 13 {
		t.Errorf("%d runs in 60 s of @every 5s, want 12 ± 1", n)
	}
	var lags []time.Duration
	for _, l := range runs {
		lags = append(lags, l)
	}
	slices.Sort(lags)
	if len(lags) > 0 {
		t.Logf("schedule lag over %d runs: median %s, p99 %s, max %s", len(lags), lags[len(lags)/2], lags[(len(lags)*99)/100], lags[len(lags)-1])
	}
}

// scheduleEvents counts the Events of reason on job's definition Secret.
func scheduleEvents(t *testing.T, ns, job, reason string) int {
	t.Helper()
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	evs, err := cs.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs.Items {
		if e.Reason == reason && e.InvolvedObject.Name == "shipjob-job-"+job {
			n++
		}
	}
	return n
}

// TestScheduleForbidSkips: a Forbid job with 20 s runs skips the slots
// that find a run active, records them, and retries none.
func TestScheduleForbidSkips(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	startNotifier(t, ns, "a")
	createSimJob(t, ns, "forbid", "--env", "SIM_DURATION=20s", "--concurrency-policy", "Forbid", "--schedule", "every=@every 5s")
	time.Sleep(32 * time.Second)
	must(t, ns, "suspend", "forbid")
	time.Sleep(2 * time.Second)
	runs, skipped := len(scheduledRuns(t, ns, "forbid")), scheduleEvents(t, ns, "forbid", "ScheduleSkipped")
	if runs < 1 || runs > 3 || skipped < 3 || runs+skipped < 5 || runs+skipped > 8 {
		t.Errorf("%d runs and %d skipped slots in 32 s of @every 5s with 20 s runs", runs, skipped)
	}
}

// TestScheduleMissedSlotsRunOne: a server started after 3 missed slots
// runs exactly one of them and records the others.
func TestScheduleMissedSlotsRunOne(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	must(t, ns, "create", "late", "--image", "busybox", "--max-active-runs", "0", "--schedule", "every=@every 5s")
	time.Sleep(17 * time.Second) // on purpose: at least 3 slots pass with no server
	replicas := map[string]*hookServer{"a": startNotifier(t, ns, "a")}
	waitLeader(t, ns, replicas)
	eventually(t, 20*time.Second, "the missed slots recorded", func() bool { return scheduleEvents(t, ns, "late", "ScheduleMissed") >= 1 })
	time.Sleep(2 * time.Second) // on purpose: a burst would have made its runs by now
	// The leader's first pass (the first run's creation; the server may
	// take seconds to start and lead) finds every slot up to then missed:
	// it runs the most recent one only, so exactly one run has a slot
	// before that moment, and later slots run when due. Creation times are
	// whole seconds: a slot due in the second the first run was created
	// (a pass just before it) is a later slot, not a missed one.
	runs := scheduledRuns(t, ns, "late")
	first := time.Time{}
	for slot, lag := range runs {
		if created := time.Unix(slot, 0).Add(lag); first.IsZero() || created.Before(first) {
			first = created
		}
	}
	old := 0
	for slot := range runs {
		if time.Unix(slot, 0).Before(first) {
			old++
		}
	}
	if old != 1 {
		t.Errorf("%d runs of slots passed before the leader's first pass (%s), want 1: %v", old, first.Format(time.RFC3339), runs)
	}
}

// TestScheduleSuspendResume: suspend stops runs within one slot; resume
// goes on from the next slot without a burst of the suspended ones.
func TestScheduleSuspendResume(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	replicas := map[string]*hookServer{"a": startNotifier(t, ns, "a")}
	waitLeader(t, ns, replicas)
	must(t, ns, "create", "sr", "--image", "busybox", "--max-active-runs", "0", "--schedule", "every=@every 5s")
	eventually(t, 20*time.Second, "two runs", func() bool { return len(scheduledRuns(t, ns, "sr")) >= 2 })
	must(t, ns, "suspend", "sr")
	suspended := time.Now()
	time.Sleep(20 * time.Second)
	after := 0
	for slot := range scheduledRuns(t, ns, "sr") {
		if time.Unix(slot, 0).After(suspended.Add(5 * time.Second)) {
			after++
		}
	}
	if after > 0 {
		t.Errorf("%d runs of slots more than one slot after suspend", after)
	}
	before := len(scheduledRuns(t, ns, "sr"))
	must(t, ns, "resume", "sr")
	resumed := time.Now()
	eventually(t, 15*time.Second, "a run after resume", func() bool { return len(scheduledRuns(t, ns, "sr")) > before })
	for slot := range scheduledRuns(t, ns, "sr") {
		if s := time.Unix(slot, 0); s.After(suspended.Add(5*time.Second)) && s.Before(resumed) {
			t.Errorf("slot %s, passed while suspended, ran after resume", s)
		}
	}
}

// listHonest checks that list in ns shows job's next run without a warning
// (a hook server renews the schedules' heartbeat there).
func listHonest(t *testing.T, ns, job string) {
	t.Helper()
	// The leader's first heartbeat may follow its first run by up to one
	// renewal: until then list rightly has no leader to show.
	var res cluster.Result
	honest := func() bool {
		res = sj(t, ns, "", nil, "list")
		return res.Code == 0 && strings.Contains(res.Stdout, "NEXT RUN") && !strings.Contains(res.Stdout, "<no leader>") && res.Stderr == ""
	}
	deadline := time.Now().Add(20 * time.Second)
	for !honest() && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	if !honest() {
		t.Errorf("list with schedules running: %d %q %q", res.Code, res.Stdout, res.Stderr)
	}
}

// TestScheduleHonestyLeaseElsewhere: as the chart deploys it, the server's
// Lease is in a namespace of its own and notifications may be off; the
// schedules run anyway, list in the job's namespace shows NEXT RUN without
// a warning (the heartbeat there), and once the server stops, list says so
// when the heartbeat has expired.
func TestScheduleHonestyLeaseElsewhere(t *testing.T) {
	t.Parallel()
	home, ns := cluster.Namespace(t, false), cluster.Namespace(t, false)
	srv := startHookServer(t, append([]string{"--namespaces", ns, "--leader-election-namespace", home,
		"--leader-election-identity", "chart-like", "--notifications=false"}, notifyFlags...)...)
	must(t, ns, "create", "tick", "--image", "busybox", "--max-active-runs", "0", "--schedule", "every=@every 5s")
	eventually(t, 30*time.Second, "a scheduled run with --notifications=false", func() bool { return len(scheduledRuns(t, ns, "tick")) >= 1 })
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	// The first heartbeat may follow the first run by up to one renewal.
	eventually(t, 15*time.Second, "the schedules' heartbeat in the job's namespace", func() bool {
		_, err := cs.CoordinationV1().Leases(ns).Get(context.Background(), "shipjob-schedules", metav1.GetOptions{})
		return err == nil
	})
	listHonest(t, ns, "tick")
	l, err := cs.CoordinationV1().Leases(ns).Get(context.Background(), "shipjob-schedules", metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != "chart-like" || *l.Spec.LeaseDurationSeconds != 9 {
		t.Fatalf("heartbeat in %s: %v %+v", ns, err, l)
	}
	if _, err := cs.CoordinationV1().Leases(ns).Get(context.Background(), "shipjob-hooks", metav1.GetOptions{}); err == nil {
		t.Errorf("the server's Lease is in the job's namespace, not in %s", home)
	}
	if code := srv.stop(t); code != 0 {
		t.Fatalf("server exit %d", code)
	}
	stopped := time.Now()
	eventually(t, 20*time.Second, "list to say the server stopped", func() bool {
		res := sj(t, ns, "", nil, "list")
		return strings.Contains(res.Stdout, "<no leader>") &&
			strings.Contains(res.Stderr, "Warning: schedules do not run in namespace "+ns+": the hook server that runs schedules here stopped renewing")
	})
	t.Logf("list warned %s after the server stopped (heartbeat 9 s)", time.Since(stopped).Round(time.Second))
}
