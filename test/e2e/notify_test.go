package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// TestNotifySucceededAndFailedOnce: two replicas share the lease; a run
// that succeeds and one that fails with exit code 3 are each notified
// exactly once, signed with their job's secret, with the body saying how
// they ended; each gets its Event and the TTL of its outcome, and the
// leader's /metrics count them.
func TestNotifySucceededAndFailedOnce(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	rc := newReceiver(t, nil)
	// Each job's TTL must change when its run ends: created with the longer
	// retention (3h), pass succeeds into 1h, fail fails into 1h.
	passSecret := createNotifyJob(t, ns, "pass", "--notify", rc.url("/pass"), "--retention", "1h", "--retention-failed", "3h",
		"--env", "SIM_DURATION=2s", "--param", "SIM_EXIT_CODE=0", "--param", "TOKEN=hunter2", "--secret-param", "TOKEN")
	failSecret := createNotifyJob(t, ns, "fail", "--notify", rc.url("/fail"), "--retention", "3h", "--retention-failed", "1h",
		"--env", "SIM_DURATION=2s", "--param", "SIM_EXIT_CODE=3")
	if passSecret == failSecret {
		t.Fatal("two jobs got the same signing secret")
	}
	// A second notification on failures only: pass's success must not send it.
	res := shipjob(t, "set", "pass", "-n", ns, "--notify", rc.url("/pass-failures"), "--notify-on", "failed")
	if res.Code != 0 || strings.Contains(res.Stderr, "whsec_") {
		t.Fatalf("set --notify on a job with a secret: exit %d, stderr %q (want no new secret)", res.Code, res.Stderr)
	}
	replicas := map[string]*hookServer{}
	for _, id := range []string{"replica-a", "replica-b"} {
		replicas[id] = startNotifier(t, ns, id, allowLocal...)
	}
	passRun, failRun := trigger(t, ns, "pass"), trigger(t, ns, "fail")
	for _, r := range []string{passRun, failRun} {
		if ttl := ttlOf(t, ns, r); ttl != 3*3600 {
			t.Errorf("run %s created with ttlSecondsAfterFinished %d, want %d (the longer retention)", r, ttl, 3*3600)
		}
	}
	passStates, failStates := waitEnded(t, ns, passRun, 90*time.Second), waitEnded(t, ns, failRun, 90*time.Second)
	time.Sleep(3 * time.Second) // on purpose: a second sender, if any, has had a lease period to show
	// The mark that ends a run takes it out of the leader's watch of runs
	// not ended ("deleted", as it was before the mark): that is no run
	// deleted before its end.
	for id, r := range replicas {
		if v, _ := metric(metricsOf(t, r), "shipjob_run_ends_missed_total", nil); v != 0 {
			t.Errorf("%s: shipjob_run_ends_missed_total %v, want 0: no run was deleted", id, v)
		}
	}

	expectStates(t, passRun, passStates, map[int][2]string{0: {"delivered", "200"}})
	expectStates(t, failRun, failStates, map[int][2]string{0: {"delivered", "200"}})
	if n := rc.count("/pass-failures"); n != 0 {
		t.Errorf("the failures-only notification got %d requests for a succeeded run", n)
	}
	for _, c := range []struct {
		run, job, path, outcome, secret, other, event string
		exit                                          int32
	}{
		{passRun, "pass", "/pass", "succeeded", passSecret, failSecret, "RunSucceeded", 0},
		{failRun, "fail", "/fail", "failed", failSecret, passSecret, "RunFailed", 3},
	} {
		got := rc.forRun(c.run)
		if len(got) != 1 {
			t.Errorf("run %s: %d notifications, want exactly 1", c.run, len(got))
			continue
		}
		n := got[0]
		if n.path != c.path || !signedWith(c.secret, n) || signedWith(c.other, n) {
			t.Errorf("run %s: path %s, signature %q not (only) of its job's secret", c.run, n.path, n.header.Get("X-Shipjob-Signature-256"))
		}
		checkBody(t, n, ns, c.job, c.run, c.outcome, c.exit)
		if ttl := ttlOf(t, ns, c.run); ttl != 3600 {
			t.Errorf("run %s (%s): ttlSecondsAfterFinished %d, want 3600", c.run, c.outcome, ttl)
		}
		// The leader claims from its cache, which holds runs without their
		// managedFields: the API server kept them (the Job controller's
		// and ours).
		if managers := cluster.Kubectl(t, "-n", ns, "get", "job", c.run, "-o", "jsonpath={.metadata.managedFields[*].manager}"); !strings.Contains(managers, "kube-controller-manager") || !strings.Contains(managers, "kubectl-shipjob") {
			t.Errorf("run %s: managed fields by %q, want the Job controller's and kubectl-shipjob's kept", c.run, managers)
		}
		if reasons := eventReasons(t, ns, c.run); slices.Index(reasons, c.event) < 0 ||
			slices.ContainsFunc(reasons, func(r string) bool { return strings.HasPrefix(r, "Run") && r != c.event }) {
			t.Errorf("run %s: event reasons %v, want %s (and no other Run* reason)", c.run, reasons, c.event)
		}
	}
	if p := rc.forRun(passRun); len(p) == 1 {
		if p[0].body.Parameters["TOKEN"] != "<secret>" || strings.Contains(string(p[0].raw), "hunter2") || p[0].body.Parameters["SIM_EXIT_CODE"] != "0" {
			t.Errorf("pass parameters %v: want TOKEN masked as <secret>", p[0].body.Parameters)
		}
	}
	if f := rc.forRun(failRun); len(f) == 1 && !strings.Contains(strings.ToLower(f[0].body.Message), "exit code 3") {
		t.Errorf("failed run's message %q does not name exit code 3", f[0].body.Message)
	}
	if wide := mustShipjob(t, "runs", "pass", "-n", ns, "-o", "wide"); !strings.Contains(strings.SplitN(wide, "\n", 2)[0], "NOTIFIED") ||
		!strings.Contains(wide, "delivered") {
		t.Errorf("runs -o wide lacks a NOTIFIED column saying delivered:\n%s", wide)
	}

	leader := leaseHolder(t, ns)
	if replicas[leader] == nil {
		t.Fatalf("lease holder %q is none of the replicas", leader)
	}
	for id, s := range replicas {
		text := metricsOf(t, s)
		want := map[bool]float64{true: 1, false: 0}[id == leader]
		if v, ok := metric(text, "shipjob_hooks_leader", nil); !ok || v != want {
			t.Errorf("%s: shipjob_hooks_leader %v (found %v), want %v", id, v, ok, want)
		}
		if id != leader {
			if v, _ := metric(text, "shipjob_runs_finished_total", map[string]string{"namespace": ns}); v != 0 {
				t.Errorf("follower %s counted %v finished runs", id, v)
			}
			continue
		}
		for _, m := range []struct {
			name   string
			labels map[string]string
			want   float64
		}{
			{"shipjob_runs_finished_total", map[string]string{"namespace": ns, "job": "pass", "outcome": "succeeded"}, 1},
			{"shipjob_runs_finished_total", map[string]string{"namespace": ns, "job": "fail", "outcome": "failed"}, 1},
			{"shipjob_runs_finished_total", map[string]string{"namespace": ns, "job": "pass", "outcome": "failed"}, 0},
			{"shipjob_run_duration_seconds_count", map[string]string{"namespace": ns, "job": "pass"}, 1},
			{"shipjob_run_duration_seconds_count", map[string]string{"namespace": ns, "job": "fail"}, 1},
			{"shipjob_job_last_run_outcome", map[string]string{"namespace": ns, "job": "pass", "outcome": "succeeded"}, 1},
			{"shipjob_job_last_run_outcome", map[string]string{"namespace": ns, "job": "fail", "outcome": "failed"}, 1},
			{"shipjob_job_last_run_outcome", map[string]string{"namespace": ns, "job": "fail", "outcome": "succeeded"}, 0},
			{"shipjob_notifications_total", map[string]string{"namespace": ns, "job": "pass", "result": "delivered"}, 1},
			{"shipjob_notifications_total", map[string]string{"namespace": ns, "job": "fail", "result": "delivered"}, 1},
		} {
			v, ok := metric(text, m.name, m.labels)
			if (!ok && m.want != 0) || v != m.want {
				t.Errorf("leader %s: %s%v = %v (found %v), want %v", id, m.name, m.labels, v, ok, m.want)
			}
		}
	}
}

// TestNotifyCancelledRun: a cancelled run notifies the targets on
// cancelled only, gets the RunCancelled Event and the failed retention.
func TestNotifyCancelledRun(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	rc := newReceiver(t, nil)
	secret := createNotifyJob(t, ns, "long", "--env", "SIM_DURATION=120s", "--retention", "2h", "--retention-failed", "30m",
		"--notify", rc.url("/cancelled"), "--notify-on", "cancelled,failed")
	mustShipjob(t, "set", "long", "-n", ns, "--notify", rc.url("/succeeded"), "--notify-on", "succeeded")
	startNotifier(t, ns, "replica-a", allowLocal...)
	run := trigger(t, ns, "long")
	eventually(t, 30*time.Second, "the run to be running", func() bool {
		runs := listRuns(t, ns, "long")
		return len(runs) == 1 && runs[0].Phase == "Running"
	})
	mustShipjob(t, "cancel", run, "-n", ns)
	states := waitEnded(t, ns, run, 90*time.Second)
	time.Sleep(2 * time.Second) // on purpose: no other notification comes (none to /succeeded)
	expectStates(t, run, states, map[int][2]string{0: {"delivered", "200"}})
	got := rc.requests("")
	if len(got) != 1 || got[0].path != "/cancelled" || got[0].body.Outcome != "cancelled" || !signedWith(secret, got[0]) {
		t.Fatalf("want one signed notification of outcome cancelled to /cancelled, got %d: %+v", len(got), got)
	}
	if got[0].body.Run != run || got[0].body.Job != "long" || got[0].body.Namespace != ns {
		t.Errorf("body %s", got[0].raw)
	}
	if ttl := ttlOf(t, ns, run); ttl != 1800 {
		t.Errorf("cancelled run: ttlSecondsAfterFinished %d, want 1800 (retentionFailed)", ttl)
	}
	if reasons := eventReasons(t, ns, run); !slices.Contains(reasons, "RunCancelled") {
		t.Errorf("event reasons %v, want RunCancelled", reasons)
	}
}

// TestNotifyRetries: a receiver answering 500 twice gets the notification
// on the third try; one that never answers is tried --webhook-tries times
// without holding up another job's notification; a 404 is not retried.
func TestNotifyRetries(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	rc := newReceiver(t, func(path string, n int) int {
		switch {
		case path == "/flaky" && n <= 2:
			return http.StatusInternalServerError
		case path == "/hang":
			return 0
		case path == "/gone":
			return http.StatusNotFound
		}
		return http.StatusOK
	})
	flakySecret := createNotifyJob(t, ns, "flaky", "--notify", rc.url("/flaky"))
	createNotifyJob(t, ns, "hang", "--notify", rc.url("/hang"))
	createNotifyJob(t, ns, "gone", "--notify", rc.url("/gone"))
	startNotifier(t, ns, "replica-a", append(allowLocal, "--webhook-timeout", "1s", "--webhook-tries", "5")...)

	hangRun := trigger(t, ns, "hang")
	eventually(t, 90*time.Second, "the first try to the receiver that never answers", func() bool { return rc.count("/hang") > 0 })
	flakyRun, goneRun := trigger(t, ns, "flaky"), trigger(t, ns, "gone")
	eventually(t, 60*time.Second, "the third try to the flaky receiver", func() bool { return rc.count("/flaky") >= 3 })
	// Five tries of 1s with 0.2+0.6+1.8+5.4s between them take about 13s.
	if _, ended := endState(t, getJob(t, ns, hangRun)); ended != "" || rc.count("/hang") >= 5 {
		t.Errorf("the hanging receiver's delivery was over (%d tries) before flaky's third try: "+
			"this test cannot tell whether it held the other up", rc.count("/hang"))
	}

	flakyStates := waitEnded(t, ns, flakyRun, 30*time.Second)
	goneStates := waitEnded(t, ns, goneRun, 30*time.Second)
	hangStates := waitEnded(t, ns, hangRun, 60*time.Second)
	time.Sleep(time.Second) // on purpose: no try comes after the ones recorded
	expectStates(t, flakyRun, flakyStates, map[int][2]string{0: {"delivered", "3 tries"}})
	expectStates(t, goneRun, goneStates, map[int][2]string{0: {"failed", "404"}})
	expectStates(t, hangRun, hangStates, map[int][2]string{0: {"failed", "no answer within 1s"}})

	flaky := rc.requests("/flaky")
	if len(flaky) != 3 {
		t.Fatalf("flaky receiver got %d requests, want 3", len(flaky))
	}
	for i, n := range flaky {
		if !signedWith(flakySecret, n) || n.header.Get("X-Shipjob-Delivery") != flaky[0].header.Get("X-Shipjob-Delivery") ||
			string(n.raw) != string(flaky[0].raw) {
			t.Errorf("try %d differs from the first or is not signed: %s %s", i+1, n.header, n.raw)
		}
	}
	// Retry delays: 200ms, then 600ms, each ±20%.
	if d1, d2 := flaky[1].at.Sub(flaky[0].at), flaky[2].at.Sub(flaky[1].at); d1 < 150*time.Millisecond || d2 < 450*time.Millisecond || d2 < d1 {
		t.Errorf("retry delays %s, %s: want about 200ms then 600ms", d1, d2)
	}
	if n := rc.count("/gone"); n != 1 {
		t.Errorf("a 404 was tried %d times, want once", n)
	}
	if n := rc.count("/hang"); n != 5 {
		t.Errorf("the receiver that never answers got %d tries, want --webhook-tries 5", n)
	}
}

// TestNotifyRefusesPrivateAddresses: without --webhook-allow-cidrs,
// loopback receivers are refused before any request, the metadata address
// always, and without --webhook-allow-insecure plain http is (also with the
// deprecated --webhook-allow-private); the run's annotation
// says why, without the URL.
func TestNotifyRefusesPrivateAddresses(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, nil)
	ns := cluster.Namespace(t, false)
	createNotifyJob(t, ns, "inside", "--notify", rc.url("/loop/s3cr3t-path"), "--notify", "http://169.254.169.254/latest/meta-data/")
	startNotifier(t, ns, "replica-a", "--webhook-allow-insecure")
	run := trigger(t, ns, "inside")

	plainNS := cluster.Namespace(t, false)
	createNotifyJob(t, plainNS, "plain", "--notify", rc.url("/plain/s3cr3t-path"))
	startNotifier(t, plainNS, "replica-a", "--webhook-allow-private")
	plainRun := trigger(t, plainNS, "plain")

	states := waitEnded(t, ns, run, 90*time.Second)
	plainStates := waitEnded(t, plainNS, plainRun, 90*time.Second)
	expectStates(t, run, states, map[int][2]string{0: {"refused", "loopback"}, 1: {"refused", "cloud metadata"}})
	expectStates(t, plainRun, plainStates, map[int][2]string{0: {"refused", "plain http"}})
	for _, s := range append(states, plainStates...) {
		if strings.Contains(s.Summary, "s3cr3t-path") {
			t.Errorf("summary %q repeats the webhook URL", s.Summary)
		}
	}
	if n := rc.count(""); n != 0 {
		t.Errorf("the receiver was called %d times", n)
	}
	if wide := mustShipjob(t, "runs", "inside", "-n", ns, "-o", "wide"); !strings.Contains(wide, "refused") {
		t.Errorf("runs -o wide does not show the refusal:\n%s", wide)
	}
}

// TestNotifyAfterServerStarts: a run that ended while no server ran is
// notified once when one starts, and not again by the next server.
func TestNotifyAfterServerStarts(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	rc := newReceiver(t, nil)
	secret := createNotifyJob(t, ns, "early", "--notify", rc.url("/early"), "--retention", "1h", "--retention-failed", "2h")
	run := trigger(t, ns, "early")
	waitJob(t, ns, run, time.Minute, func(j *batchv1.Job, err error) bool {
		return err == nil && jobCondition(j, batchv1.JobComplete) != nil
	})
	if states, ended := endState(t, getJob(t, ns, run)); ended != "" || len(states) != 0 || ttlOf(t, ns, run) != 7200 {
		t.Fatalf("without a server: ended %q, states %v, ttl %d; want unprocessed with the longer retention 7200", ended, states, ttlOf(t, ns, run))
	}
	first := startNotifier(t, ns, "first", allowLocal...)
	states := waitEnded(t, ns, run, 60*time.Second)
	expectStates(t, run, states, map[int][2]string{0: {"delivered", "200"}})
	if got := rc.forRun(run); len(got) != 1 || !signedWith(secret, got[0]) {
		t.Fatalf("%d notifications of the run, want one signed", len(got))
	} else {
		checkBody(t, got[0], ns, "early", run, "succeeded", 0)
	}
	if ttl := ttlOf(t, ns, run); ttl != 3600 {
		t.Errorf("ttlSecondsAfterFinished %d, want 3600", ttl)
	}
	if code := first.stop(t); code != 0 {
		t.Errorf("server exited %d on SIGTERM", code)
	}
	startNotifier(t, ns, "second", allowLocal...)
	eventually(t, 30*time.Second, "the second server to lead", func() bool { return leaseHolder(t, ns) == "second" })
	time.Sleep(2 * time.Second) // on purpose: the new leader does not notify again
	if n := len(rc.forRun(run)); n != 1 {
		t.Fatalf("the next server notified the processed run again: %d notifications", n)
	}
}

// TestNotifyBadInput: bad notification flags are one line on stderr, a
// non-zero exit, nothing on stdout, and no change in the namespace (no
// signing Secret made or changed).
func TestNotifyBadInput(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	if res := sj(t, ns, "", nil, "create", "exists", "--image", "busybox", "--notify", "https://hooks.example.com/0"); res.Code != 0 {
		t.Fatalf("create: %s", res.Stderr)
	}
	c := func(args ...string) []string { return append([]string{"create", "x", "--image", "busybox"}, args...) }
	var eleven, tenMore []string
	for i := range 11 {
		eleven = append(eleven, "--notify", fmt.Sprintf("https://hooks.example.com/%d", i))
		if i > 0 {
			tenMore = append(tenMore, "--notify", fmt.Sprintf("https://hooks.example.com/%d", i))
		}
	}
	u := "https://hooks.example.com/x"
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"ftp scheme", c("--notify", "ftp://x"), "scheme must be http or https"},
		{"user and password", c("--notify", "http://user:pw@h/"), "user information"},
		{"unknown outcome", c("--notify", u, "--notify-on", "maybe"), `"maybe"`},
		{"unknown format", c("--notify", u, "--notify-format", "xml"), `"xml"`},
		{"notify-on without notify", c("--notify-on", "failed"), "--notify-on"},
		{"notify-format without notify", c("--notify-format", "slack"), "--notify-format"},
		{"bad retention-failed", c("--retention-failed", "5x"), `"5x"`},
		{"eleven notifications", c(eleven...), "at most 10"},
		{"set ftp scheme", []string{"set", "exists", "--notify", "ftp://x"}, "scheme must be http or https"},
		{"set eleventh notification", append([]string{"set", "exists"}, tenMore...), "at most 10"},
		{"set unknown outcome", []string{"set", "exists", "--notify", u, "--notify-on", "sometimes"}, `"sometimes"`},
		{"set notify-on alone", []string{"set", "exists", "--notify-on", "failed"}, "--notify-on"},
		{"set bad retention-failed", []string{"set", "exists", "--retention-failed", "5x"}, `"5x"`},
		{"unset unknown URL", []string{"set", "exists", "--unset-notify", "https://nope.example.com/"}, "no notification"},
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
		case strings.Contains(res.Stderr, ":pw@") || strings.Contains(res.Stderr, "whsec_"):
			t.Errorf("%s: stderr repeats a credential: %q", tc.name, res.Stderr)
		}
		if after := snapshot(t, ns); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("%s: the namespace changed:\nbefore %v\nafter  %v", tc.name, before, after)
		}
	}
	if out := cluster.Kubectl(t, "-n", ns, "get", "secrets", "-o", "name"); strings.Contains(out, "shipjob-notify-x") || strings.Contains(out, "shipjob-job-x") {
		t.Errorf("a refused create left secrets:\n%s", out)
	}
}

// TestNotifySigningSecretRotates: the signing secret is shown once, never
// by later writes or `get`, and a rotation shows (and stores) a new one.
func TestNotifySigningSecretRotates(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	first := createNotifyJob(t, ns, "sig", "--notify", "https://ci.example.com/shipjob")
	res := shipjob(t, "-n", ns, "set", "sig", "--description", "signed")
	if res.Code != 0 || strings.Contains(res.Stderr+res.Stdout, "whsec_") {
		t.Fatalf("a later set shows the secret again or fails: %d %q %q", res.Code, res.Stdout, res.Stderr)
	}
	if out := mustShipjob(t, "-n", ns, "get", "sig", "-o", "yaml"); strings.Contains(out, "whsec_") || !strings.Contains(out, "https://ci.example.com/shipjob") {
		t.Fatalf("get -o yaml: want the webhook and no secret:\n%s", out)
	}
	res = shipjob(t, "-n", ns, "set", "sig", "--rotate-signing-secret")
	m := signingLine.FindStringSubmatch(strings.TrimSpace(res.Stderr))
	if res.Code != 0 || m == nil || m[2] == first {
		t.Fatalf("rotate: exit %d, stderr %q (first %s)", res.Code, res.Stderr, first)
	}
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	sec, err := cs.CoreV1().Secrets(ns).Get(context.Background(), "shipjob-notify-sig", metav1.GetOptions{})
	if err != nil || string(sec.Data["signing-secret"]) != m[2] {
		t.Fatalf("stored secret after rotation is not the one shown (err %v)", err)
	}
	if own := sec.OwnerReferences; len(own) != 1 || own[0].Name != "shipjob-job-sig" {
		t.Errorf("signing secret owned by %v, want the job's Secret", own)
	}
}
