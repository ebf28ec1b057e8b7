package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
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
var allowLocal = []string{"--webhook-allow-cidrs", "127.0.0.0/8", "--webhook-allow-insecure"}

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
	target string // the URL it was sent to, as the job's definition has it
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
	n := notification{at: time.Now(), target: rc.srv.URL + r.URL.RequestURI(), path: r.URL.Path, header: r.Header.Clone(), raw: raw}
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

// signedWith reports whether n carries a valid signature under the
// secret ("whsec_…") as docs/security.md says a receiver checks one: the
// webhook's key is HMAC-SHA256(secret, "shipjob-webhook:" + its URL); a
// signature is "v1=" + hex HMAC-SHA256(key, "v1:" + timestamp + "." +
// delivery id + "." + body); the timestamp is within 5 minutes of when it
// arrived.
func signedWith(secret string, n notification) bool {
	ts, id := n.header.Get("X-Shipjob-Timestamp"), n.header.Get("X-Shipjob-Delivery")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || id == "" || n.at.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false
	}
	k := hmac.New(sha256.New, []byte(secret))
	k.Write([]byte("shipjob-webhook:" + n.target))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write([]byte("v1:" + ts + "." + id + "."))
	m.Write(n.raw)
	want := "v1=" + hex.EncodeToString(m.Sum(nil))
	ok := false
	for _, sig := range strings.Split(n.header.Get("X-Shipjob-Signature-256"), ",") {
		ok = ok || hmac.Equal([]byte(want), []byte(strings.TrimSpace(sig)))
	}
	return ok
}

var signingLine = regexp.MustCompile(`^Signing secret of job ([a-z0-9-]+)'s notifications \(shown once; receivers verify X-Shipjob-Signature-256 with it\): (whsec_[0-9a-f]{64})$`)

// createNotifyJob creates a simulated job (no limit of active runs) with
// extra flags, --notify among them, and returns the signing secret create
// showed once on stderr, after checking it is the one stored.
func createNotifyJob(t *testing.T, ns, name string, extra ...string) string {
	t.Helper()
	// Many runs of one job end in these tests: none is pruned by the
	// history limits or refused by the trigger rate.
	args := append([]string{"create", name, "-n", ns, "--image", "example.com/acme/sim:1", "--max-active-runs", "0",
		"--max-runs-per-minute", "0", "--succeeded-runs-history-limit", "1000", "--failed-runs-history-limit", "1000"}, extra...)
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
