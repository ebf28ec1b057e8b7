package runend

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/notify"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

var local = notify.Options{AllowPrivate: true, AllowInsecure: true}

// TestRunEndSendsARunsTriesInParallel: a run's four receivers that answer
// after 500ms get their requests at once, not one after the other (1.5s
// apart before); and with one delivery slot held by that run, another run's
// end (TTL, Event) is claimed meanwhile, not after its 2s (review N5).
func TestRunEndSendsARunsTriesInParallel(t *testing.T) {
	var mu sync.Mutex
	var at []time.Time
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		time.Sleep(500 * time.Millisecond)
	}))
	defer slow.Close()
	a, _ := endedRun("migrate-a", false, "def-uid")
	b, _ := endedRun("migrate-b", true, "def-uid")
	urls := []string{slow.URL + "/1", slow.URL + "/2", slow.URL + "/3", slow.URL + "/4"}
	s := newSetup(t, urls, local, a)
	s.updateDef(t, func(def *jobdef.Job) {
		for i := range def.Spec.Notifications {
			def.Spec.Notifications[i].On = []jobdef.Outcome{jobdef.OutcomeFailed}
		}
	})
	s.p.cfg.Workers = 1
	claimed := make(chan time.Duration, 1)
	go func() {
		// b ends while a's tries are in flight; it has no notification for
		// its outcome, so its end is only the claim.
		for {
			mu.Lock()
			n := len(at)
			mu.Unlock()
			if n > 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		start := time.Now()
		_, _ = s.cs.BatchV1().Jobs("ns").Create(t.Context(), b, metav1.CreateOptions{})
		for {
			j, err := s.cs.BatchV1().Jobs("ns").Get(t.Context(), "migrate-b", metav1.GetOptions{})
			if err == nil && j.Annotations[run.AnnotationEnded] != "" {
				claimed <- time.Since(start)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	jobs := s.runUntil(t, "migrate-a", "migrate-b")
	mu.Lock()
	defer mu.Unlock()
	if len(at) != 4 {
		t.Fatalf("%d requests, want 4", len(at))
	}
	if spread := at[3].Sub(at[0]); spread > 750*time.Millisecond {
		t.Errorf("the 4 tries of one run went out over %s, want at once (each answer takes 500ms)", spread)
	}
	if d := <-claimed; d > time.Second {
		t.Errorf("another run's end was claimed %s after it ended, want at once while the delivery slot is busy", d)
	}
	if ds := deliveries(t, jobs["migrate-a"]); len(ds) != 4 {
		t.Errorf("a: %+v", ds)
	} else {
		for _, d := range ds {
			if d.State != run.DeliveryDelivered {
				t.Errorf("a: %+v", ds)
			}
		}
	}
}

// TestRunEndSignsPerWebhookWithTimestamp: each receiver's delivery
// verifies with the job's secret and its own URL only, carries a timestamp
// of now; during a rotation's grace period both the new and the previous
// secret verify (review N9). The URL hash on the run is keyed with the
// signing secret (review N8).
func TestRunEndSignsPerWebhookWithTimestamp(t *testing.T) {
	rcv := &receiver{codes: []int{200}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	j, _ := endedRun("migrate-1", false, "def-uid")
	a, b := srv.URL+"/a", srv.URL+"/b"
	s := newSetup(t, []string{a, b}, local, j)
	old := s.secret
	store := &jobdef.Store{Client: s.cs, Namespace: "ns"}
	def, err := store.Get(t.Context(), "migrate")
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := store.RotateSigningSecret(t.Context(), def, jobdef.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := s.runUntil(t, "migrate-1")["migrate-1"]
	if rcv.count() != 2 {
		t.Fatalf("%d requests, want 2", rcv.count())
	}
	for i, h := range rcv.headers {
		mine, other := srv.URL+rcv.paths[i], a
		if mine == a {
			other = b
		}
		for _, secret := range [][]byte{[]byte(rotated), old} {
			if err := notify.Verify(secret, mine, h, rcv.bodies[i], time.Now(), time.Minute); err != nil {
				t.Errorf("%s: does not verify with secret %.10s… during the grace period: %v", rcv.paths[i], secret, err)
			}
			if err := notify.Verify(secret, other, h, rcv.bodies[i], time.Now(), time.Minute); err == nil {
				t.Errorf("%s: a delivery to it verifies at the other receiver", rcv.paths[i])
			}
		}
		if err := notify.Verify([]byte(rotated), mine, h, rcv.bodies[i], time.Now().Add(10*time.Minute), 5*time.Minute); err == nil {
			t.Errorf("%s: replayed 10 minutes later, it still verifies", rcv.paths[i])
		}
		if n := len(strings.Split(h.Get(notify.HeaderSignature), ",")); n != 2 {
			t.Errorf("%s: %d signatures during the grace period, want 2", rcv.paths[i], n)
		}
	}
	for _, d := range deliveries(t, got) {
		u := []string{a, b}[d.Target]
		m := hmac.New(sha256.New, []byte(rotated))
		m.Write([]byte("shipjob-url-hash:" + u))
		if keyed := hex.EncodeToString(m.Sum(nil)[:8]); d.URLHash != keyed {
			t.Errorf("target %d: urlHash %s is not keyed with the signing secret", d.Target, d.URLHash)
		}
	}
}

// TestRunEndDeliveryOutcomes: retried to success; a 400 is not retried; a
// loopback receiver without AllowPrivate is refused and never called.
func TestRunEndDeliveryOutcomes(t *testing.T) {
	cases := map[string]struct {
		codes    []int
		opts     notify.Options
		state    string
		requests int
		summary  string
	}{
		"500, 500, 200": {codes: []int{500, 500, 200}, opts: notify.Options{AllowPrivate: true, AllowInsecure: true}, state: run.DeliveryDelivered, requests: 3, summary: "HTTP 200 after 3 tries"},
		"400":           {codes: []int{400}, opts: notify.Options{AllowPrivate: true, AllowInsecure: true}, state: run.DeliveryFailed, requests: 1, summary: "400"},
		"always 503":    {codes: []int{503}, opts: notify.Options{AllowPrivate: true, AllowInsecure: true}, state: run.DeliveryFailed, requests: 3, summary: "failed after 3 tries"},
		"loopback":      {codes: []int{200}, opts: notify.Options{AllowInsecure: true}, state: run.DeliveryRefused, requests: 0, summary: "loopback"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rcv := &receiver{codes: tc.codes}
			srv := httptest.NewServer(rcv)
			defer srv.Close()
			j, _ := endedRun("migrate-1", false, "def-uid")
			s := newSetup(t, []string{srv.URL}, tc.opts, j)
			got := s.runUntil(t, "migrate-1")["migrate-1"]
			ds := deliveries(t, got)
			if len(ds) != 1 || ds[0].State != tc.state || !strings.Contains(ds[0].Summary, tc.summary) {
				t.Errorf("deliveries %+v, want state %s with %q", ds, tc.state, tc.summary)
			}
			if rcv.count() != tc.requests {
				t.Errorf("%d requests, want %d", rcv.count(), tc.requests)
			}
			if strings.Contains(got.Annotations[run.AnnotationNotifications], srv.URL) {
				t.Errorf("the webhook URL is recorded on the run: %s", got.Annotations[run.AnnotationNotifications])
			}
		})
	}
}

// TestRunEndRetriesHoldNoWorker: with one worker, a receiver that keeps
// failing (retried later) does not hold up another run's notification, and
// the schedule and count of tries are on the run.
func TestRunEndRetriesHoldNoWorker(t *testing.T) {
	var mu sync.Mutex
	var order []string
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		order = append(order, "failing")
		mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	fine := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		order = append(order, "fine")
		mu.Unlock()
	}))
	defer fine.Close()
	a, _ := endedRun("migrate-a", false, "def-uid")
	b, _ := endedRun("migrate-b", true, "def-uid")
	s := newSetup(t, []string{failing.URL + "/a", fine.URL + "/b"}, notify.Options{AllowPrivate: true, AllowInsecure: true}, a)
	// migrate-a notifies both (failed); make b's job notify only "fine"
	// by its outcome: the "failing" one is on failed only.
	s.updateDef(t, func(def *jobdef.Job) {
		def.Spec.Notifications[0].On = []jobdef.Outcome{jobdef.OutcomeFailed}
		def.Spec.Notifications[1].On = []jobdef.Outcome{jobdef.OutcomeSucceeded}
	})
	s.p.cfg.Workers = 1
	s.p.cfg.Policy = notify.Policy{Tries: 3, Initial: 300 * time.Millisecond, Max: time.Second}
	go func() { // b ends right after a's first try failed
		for {
			mu.Lock()
			n := len(order)
			mu.Unlock()
			if n > 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		_, _ = s.cs.BatchV1().Jobs("ns").Create(context.Background(), b, metav1.CreateOptions{})
	}()
	jobs := s.runUntil(t, "migrate-a", "migrate-b")
	mu.Lock()
	got := strings.Join(order, ",")
	mu.Unlock()
	if got != "failing,fine,failing,failing" {
		t.Errorf("requests in order %s, want failing,fine,failing,failing: the retry must not hold the worker", got)
	}
	if ds := deliveries(t, jobs["migrate-a"]); len(ds) != 1 || ds[0].State != run.DeliveryFailed || ds[0].Tries != 3 || ds[0].NextTry != nil {
		t.Errorf("a: %+v", ds)
	}
}
