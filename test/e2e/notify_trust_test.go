package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// tarpit is a TCP listener that accepts connections and never answers.
type tarpit struct {
	l        net.Listener
	accepted atomic.Int32
}

func newTarpit(t *testing.T) *tarpit {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &tarpit{l: l}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			tp.accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return tp
}

// TestNotifyIsolatesNamespaces: 20 runs of a job with 10 receivers that
// accept connections and never answer flood namespace a; a run of
// namespace b served by the same server is still notified within 5 s of
// its end (review N5).
func TestNotifyIsolatesNamespaces(t *testing.T) {
	t.Parallel()
	nsA, nsB := cluster.Namespace(t, false), cluster.Namespace(t, false)
	var pits []*tarpit
	var args []string
	for i := range 10 {
		tp := newTarpit(t)
		pits = append(pits, tp)
		args = append(args, "--notify", fmt.Sprintf("http://%s/slow/%d", tp.l.Addr(), i))
	}
	createNotifyJob(t, nsA, "slow", append(args, "--param", "SIM_DURATION=1s")...)
	rc := newReceiver(t, nil)
	createNotifyJob(t, nsB, "ok", "--notify", rc.url("/ok"), "--param", "SIM_DURATION=1s")
	accepted := func() (n int32) {
		for _, tp := range pits {
			n += tp.accepted.Load()
		}
		return n
	}
	startHookServer(t, append([]string{"--namespaces", nsA + "," + nsB, "--leader-election-namespace", nsA,
		"--leader-election-identity", "replica-a", "--webhook-timeout", "60s"}, append(notifyFlags, allowLocal...)...)...)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res := shipjob(t, "run", "slow", "-n", nsA); res.Code != 0 {
				t.Errorf("run slow: exit %d: %s", res.Code, res.Stderr)
			}
		}()
	}
	wg.Wait()
	// The flood is on when the tarpits hold many connections.
	eventually(t, 2*time.Minute, "the tarpits to hold 40 connections", func() bool { return accepted() >= 40 })
	okRun := trigger(t, nsB, "ok")
	var completed time.Time
	waitJob(t, nsB, okRun, time.Minute, func(j *batchv1.Job, err error) bool {
		if err == nil && j.Status.CompletionTime != nil {
			completed = j.Status.CompletionTime.Time
			return true
		}
		return false
	})
	eventually(t, 30*time.Second, "namespace b's notification", func() bool { return len(rc.forRun(okRun)) > 0 })
	got := rc.forRun(okRun)[0]
	// completionTime has whole seconds: the delay measured is at most 1 s
	// longer than the real one.
	delay := got.at.Sub(completed)
	t.Logf("namespace b notified %s after its run's completionTime; tarpits hold %d connections", delay.Round(time.Millisecond), accepted())
	if delay > 5*time.Second {
		t.Errorf("namespace b's run was notified %s after it ended, want within 5s while namespace a floods", delay)
	}
}

// TestNotifyRecordsNoEchoOfTheURL: receivers that echo their URL (a
// trailing-slash redirect to it, an error page naming the path) have
// nothing of it recorded on the run or in the server's log: only the
// status code (review N8).
func TestNotifyRecordsNoEchoOfTheURL(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if strings.HasPrefix(r.URL.Path, "/redirect/") {
			w.Header().Set("Location", "http://"+r.Host+r.URL.Path+"/")
			w.WriteHeader(http.StatusMovedPermanently)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, "Cannot POST %s", r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	createNotifyJob(t, ns, "echo", "--notify", srv.URL+"/redirect/S3CR3T-R3D1RECT", "--notify", srv.URL+"/page/S3CR3T-P4GE")
	s := startNotifier(t, ns, "replica-a", allowLocal...)
	run := trigger(t, ns, "echo")
	states := waitEnded(t, ns, run, 90*time.Second)
	expectStates(t, run, states, map[int][2]string{0: {"failed", "301 Moved Permanently"}, 1: {"failed", "404 Not Found"}})
	annotation := getJob(t, ns, run).Annotations["shipjob.dev/notifications"]
	for _, where := range []struct{ name, text string }{{"the run's annotation", annotation}, {"the server log", s.logs.String()}} {
		if strings.Contains(where.text, "S3CR3T") {
			t.Errorf("%s holds the webhook's secret path:\n%s", where.name, where.text)
		}
	}
}

// TestNotifySignaturesPerWebhookAndRotation: a job's two receivers each get
// a delivery that verifies with the job's secret and their own URL only,
// with a timestamp; after `set --rotate-signing-secret` deliveries carry
// two signatures, under the new and the previous secret, for the grace
// period (review N9).
func TestNotifySignaturesPerWebhookAndRotation(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	rc := newReceiver(t, nil)
	first := createNotifyJob(t, ns, "sig", "--notify", rc.url("/a"), "--notify", rc.url("/b"))
	startNotifier(t, ns, "replica-a", allowLocal...)
	before := trigger(t, ns, "sig")
	waitEnded(t, ns, before, 90*time.Second)
	res := shipjob(t, "-n", ns, "set", "sig", "--rotate-signing-secret")
	m := signingLine.FindStringSubmatch(strings.TrimSpace(res.Stderr))
	if res.Code != 0 || m == nil {
		t.Fatalf("rotate: exit %d, stderr %q", res.Code, res.Stderr)
	}
	second := m[2]
	after := trigger(t, ns, "sig")
	waitEnded(t, ns, after, 90*time.Second)
	other := map[string]string{rc.url("/a"): rc.url("/b"), rc.url("/b"): rc.url("/a")}
	for _, c := range []struct {
		run   string
		valid []string
		sigs  int
	}{{before, []string{first}, 1}, {after, []string{second, first}, 2}} {
		got := rc.forRun(c.run)
		if len(got) != 2 {
			t.Fatalf("run %s: %d notifications, want 2", c.run, len(got))
		}
		for _, n := range got {
			if n.header.Get("X-Shipjob-Timestamp") == "" || len(strings.Split(n.header.Get("X-Shipjob-Signature-256"), ",")) != c.sigs {
				t.Errorf("run %s to %s: headers %v, want a timestamp and %d signatures", c.run, n.path, n.header, c.sigs)
			}
			for _, secret := range c.valid {
				if !signedWith(secret, n) {
					t.Errorf("run %s to %s: does not verify with secret %.12s…", c.run, n.path, secret)
				}
				atOther := n
				atOther.target = other[n.target]
				if signedWith(secret, atOther) {
					t.Errorf("run %s: the delivery to %s verifies at the other receiver", c.run, n.path)
				}
			}
		}
	}
}
