package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// Run-end processing of `hooks serve`: the replica holding the lease sets a
// finished run's TTL by its outcome, records an Event, POSTs the job's
// notifications (signed, retried) and marks the run's Job. test/e2e may
// import only test/cluster, so the receiver checks signatures itself.

// notifyFlags: short leader election timings (failover in seconds) and
// retries 200ms apart at first.
var notifyFlags = []string{"--leader-election-lease-duration", "3s", "--leader-election-renew-deadline", "2s",
	"--leader-election-retry-period", "500ms", "--webhook-retry-initial", "200ms"}

// allowLocal lets a server deliver to the receiver on http://127.0.0.1.
var allowLocal = []string{"--webhook-allow-private", "--webhook-allow-insecure"}

// startNotifier starts a hook server for ns that competes for the lease
// shipjob-hooks in ns as identity id.
func startNotifier(t *testing.T, ns, id string, extra ...string) *hookServer {
	t.Helper()
	args := append([]string{"-n", ns, "--leader-election-namespace", ns, "--leader-election-identity", id}, notifyFlags...)
	return startHookServer(t, append(args, extra...)...)
}

// leaseHolder is the identity holding the lease shipjob-hooks in ns, or "".
func leaseHolder(t *testing.T, ns string) string {
	t.Helper()
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	l, err := cs.CoordinationV1().Leases(ns).Get(context.Background(), "shipjob-hooks", metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// waitLeader waits until one of replicas (by identity) holds the lease.
func waitLeader(t *testing.T, ns string, replicas map[string]*hookServer) string {
	t.Helper()
	var id string
	eventually(t, 30*time.Second, "a replica to hold the lease", func() bool {
		id = leaseHolder(t, ns)
		return replicas[id] != nil
	})
	return id
}

// notification is one request the receiver got.
type notification struct {
	at     time.Time
	path   string
	header http.Header
	raw    []byte
	body   notifyBody
}

// notifyBody is the JSON body of a notification.
type notifyBody struct {
	Version     int               `json:"version"`
	Job         string            `json:"job"`
	Run         string            `json:"run"`
	Namespace   string            `json:"namespace"`
	Outcome     string            `json:"outcome"`
	ExitCode    *int32            `json:"exitCode"`
	Message     string            `json:"message"`
	StartedAt   *time.Time        `json:"startedAt"`
	FinishedAt  *time.Time        `json:"finishedAt"`
	Duration    float64           `json:"durationSeconds"`
	Parameters  map[string]string `json:"parameters"`
	Image       string            `json:"image"`
	TriggeredBy string            `json:"triggeredBy"`
	StatusURL   string            `json:"statusUrl"`
	DeliveryID  string            `json:"deliveryId"`
}

var bodyFields = []string{"version", "job", "run", "namespace", "outcome", "exitCode", "message", "startedAt",
	"finishedAt", "durationSeconds", "parameters", "image", "triggeredBy", "statusUrl", "deliveryId"}

// receiver is a webhook receiver on 127.0.0.1 that records every request.
// answer gives the status of the n-th request (from 1) to a path; 0 never
// answers (until the sender gives up). nil answers 200.
type receiver struct {
	srv    *httptest.Server
	answer func(path string, n int) int
	stop   chan struct{}
	mu     sync.Mutex
	got    []notification
}

func newReceiver(t *testing.T, answer func(path string, n int) int) *receiver {
	t.Helper()
	rc := &receiver{answer: answer, stop: make(chan struct{})}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(func() {
		close(rc.stop)
		rc.srv.Close()
	})
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	n := notification{at: time.Now(), path: r.URL.Path, header: r.Header.Clone(), raw: raw}
	_ = json.Unmarshal(raw, &n.body) // a body that is not JSON fails the field checks
	rc.mu.Lock()
	rc.got = append(rc.got, n)
	tries := 0
	for _, g := range rc.got {
		if g.path == n.path {
			tries++
		}
	}
	rc.mu.Unlock()
	status := http.StatusOK
	if rc.answer != nil {
		status = rc.answer(n.path, tries)
	}
	if status == 0 {
		select {
		case <-r.Context().Done():
		case <-rc.stop:
		}
		return
	}
	w.WriteHeader(status)
}

func (rc *receiver) url(path string) string { return rc.srv.URL + path }

// requests are the requests so far, to path unless path is "".
func (rc *receiver) requests(path string) []notification {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []notification
	for _, n := range rc.got {
		if path == "" || n.path == path {
			out = append(out, n)
		}
	}
	return out
}

func (rc *receiver) count(path string) int { return len(rc.requests(path)) }

// forRun are the requests whose body names run.
func (rc *receiver) forRun(run string) []notification {
	var out []notification
	for _, n := range rc.requests("") {
		if n.body.Run == run {
			out = append(out, n)
		}
	}
	return out
}

// signedWith reports whether n carries the HMAC-SHA256 of its body keyed
// with the whole secret string ("whsec_…").
func signedWith(secret string, n notification) bool {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(n.raw)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(want), []byte(n.header.Get("X-Shipjob-Signature-256")))
}

var signingLine = regexp.MustCompile(`^Signing secret of job ([a-z0-9-]+)'s notifications \(shown once; receivers verify X-Shipjob-Signature-256 with it\): (whsec_[0-9a-f]{64})$`)

// createNotifyJob creates a simulated job (no limit of active runs) with
// extra flags, --notify among them, and returns the signing secret create
// showed once on stderr, after checking it is the one stored.
func createNotifyJob(t *testing.T, ns, name string, extra ...string) string {
	t.Helper()
	args := append([]string{"create", name, "-n", ns, "--image", "example.com/acme/sim:1", "--max-active-runs", "0"}, extra...)
	res := shipjob(t, args...)
	if res.Code != 0 {
		t.Fatalf("kubectl shipjob %s: exit %d: %s", strings.Join(args, " "), res.Code, res.Stderr)
	}
	var secret string
	for _, line := range strings.Split(strings.TrimSpace(res.Stderr), "\n") {
		if m := signingLine.FindStringSubmatch(line); m != nil && m[1] == name {
			if secret != "" {
				t.Fatalf("create shows the signing secret twice: %q", res.Stderr)
			}
			secret = m[2]
		}
	}
	if secret == "" || strings.Contains(res.Stdout, "whsec_") {
		t.Fatalf("create %s: want the signing secret on stderr only; stdout %q, stderr %q", name, res.Stdout, res.Stderr)
	}
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	sec, err := cs.CoreV1().Secrets(ns).Get(context.Background(), "shipjob-notify-"+name, metav1.GetOptions{})
	if err != nil || string(sec.Data["signing-secret"]) != secret {
		t.Fatalf("stored signing secret of %s differs from the one shown (err %v)", name, err)
	}
	return secret
}

// trigger starts a run of job with `kubectl shipjob run` and returns its name.
func trigger(t *testing.T, ns, job string, args ...string) string {
	t.Helper()
	return runName(t, mustShipjob(t, append([]string{"run", job, "-n", ns}, args...)...))
}

// notifyState is one entry of a run's shipjob.dev/notifications.
type notifyState struct {
	Target  int    `json:"target"`
	State   string `json:"state"`
	Summary string `json:"summary"`
}

// endState reads a run Job's notification states and its shipjob.dev/ended.
func endState(t *testing.T, job *batchv1.Job) ([]notifyState, string) {
	t.Helper()
	var states []notifyState
	if v, ok := job.Annotations["shipjob.dev/notifications"]; ok {
		if err := json.Unmarshal([]byte(v), &states); err != nil {
			t.Fatalf("run %s: annotation shipjob.dev/notifications %q: %v", job.Name, v, err)
		}
	}
	ended := job.Annotations["shipjob.dev/ended"]
	if ended != "" {
		if _, err := time.Parse(time.RFC3339, ended); err != nil {
			t.Fatalf("run %s: shipjob.dev/ended %q is not RFC 3339", job.Name, ended)
		}
	}
	return states, ended
}

// waitEnded waits until the server marked run ended and returns its
// notification states.
func waitEnded(t *testing.T, ns, run string, timeout time.Duration) []notifyState {
	t.Helper()
	var states []notifyState
	eventually(t, timeout, "run "+run+" marked ended", func() bool {
		var ended string
		states, ended = endState(t, getJob(t, ns, run))
		return ended != ""
	})
	return states
}

// expectStates checks a run's notification states: want maps a target
// index to its state and a text its summary contains.
func expectStates(t *testing.T, run string, got []notifyState, want map[int][2]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("run %s: notification states %+v, want %d", run, got, len(want))
	}
	for _, s := range got {
		w, ok := want[s.Target]
		if !ok || s.State != w[0] || !strings.Contains(s.Summary, w[1]) {
			t.Errorf("run %s: target %d is %q (%q), want %q with %q", run, s.Target, s.State, s.Summary, w[0], w[1])
		}
	}
}

func ttlOf(t *testing.T, ns, run string) int32 {
	t.Helper()
	ttl := getJob(t, ns, run).Spec.TTLSecondsAfterFinished
	if ttl == nil {
		return -1
	}
	return *ttl
}

// eventReasons are the reasons of the Events on run's Job, via kubectl.
func eventReasons(t *testing.T, ns, run string) []string {
	t.Helper()
	out := cluster.Kubectl(t, "-n", ns, "get", "events", "--field-selector", "involvedObject.name="+run+",involvedObject.kind=Job",
		"-o", `jsonpath={range .items[*]}{.reason}{"\n"}{end}`)
	return strings.Fields(out)
}

// checkBody checks the JSON body and headers of a run's one notification.
func checkBody(t *testing.T, n notification, ns, job, run, outcome string, exit int32) {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(n.raw, &fields); err != nil {
		t.Fatalf("run %s: body is not JSON: %v: %s", run, err, n.raw)
	}
	for _, f := range bodyFields {
		if _, ok := fields[f]; !ok {
			t.Errorf("run %s: body lacks %q: %s", run, f, n.raw)
		}
	}
	b := n.body
	if b.Version != 1 || b.Job != job || b.Run != run || b.Namespace != ns || b.Outcome != outcome {
		t.Errorf("run %s: body %s, want version 1, job %s, namespace %s, outcome %s", run, n.raw, job, ns, outcome)
	}
	if b.ExitCode == nil || *b.ExitCode != exit {
		t.Errorf("run %s: exitCode %v, want %d", run, b.ExitCode, exit)
	}
	if b.Image != "example.com/acme/sim:1" || b.TriggeredBy != "user:"+cluster.AdminUser {
		t.Errorf("run %s: image %q, triggeredBy %q", run, b.Image, b.TriggeredBy)
	}
	if b.StartedAt == nil || b.FinishedAt == nil || b.FinishedAt.Before(*b.StartedAt) ||
		math.Abs(b.Duration-b.FinishedAt.Sub(*b.StartedAt).Seconds()) > 1 {
		t.Errorf("run %s: startedAt %v, finishedAt %v, durationSeconds %v", run, b.StartedAt, b.FinishedAt, b.Duration)
	}
	if ct := n.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("run %s: Content-Type %q", run, ct)
	}
	if id := n.header.Get("X-Shipjob-Delivery"); id == "" || id != b.DeliveryID {
		t.Errorf("run %s: X-Shipjob-Delivery %q, deliveryId %q", run, id, b.DeliveryID)
	}
}

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
var labelPair = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// metric sums the samples of name in Prometheus text whose labels include
// labels; found says whether any matched.
func metric(text, name string, labels map[string]string) (sum float64, found bool) {
	for _, line := range strings.Split(text, "\n") {
		m := sampleLine.FindStringSubmatch(line)
		if m == nil || m[1] != name {
			continue
		}
		have := map[string]string{}
		for _, p := range labelPair.FindAllStringSubmatch(m[2], -1) {
			have[p[1]] = p[2]
		}
		match := true
		for k, v := range labels {
			match = match && have[k] == v
		}
		if v, err := strconv.ParseFloat(m[3], 64); match && err == nil {
			sum, found = sum+v, true
		}
	}
	return sum, found
}

func metricsOf(t *testing.T, s *hookServer) string {
	t.Helper()
	code, body, err := hookCall(http.MethodGet, s.URL+"/metrics", "", "", "")
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", code, err)
	}
	return body
}

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
	time.Sleep(3 * time.Second) // a second sender, if any, has had a lease period to show

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
	time.Sleep(2 * time.Second)
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
	time.Sleep(time.Second)
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

// TestNotifyRefusesPrivateAddresses: without --webhook-allow-private,
// loopback and link-local receivers are refused before any request, and
// without --webhook-allow-insecure plain http is; the run's annotation
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
	expectStates(t, run, states, map[int][2]string{0: {"refused", "loopback"}, 1: {"refused", "link-local"}})
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
	time.Sleep(2 * time.Second)
	if n := len(rc.forRun(run)); n != 1 {
		t.Fatalf("the next server notified the processed run again: %d notifications", n)
	}
}

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
	time.Sleep(3 * time.Second) // a second sender, if any, has had a lease period to show
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
