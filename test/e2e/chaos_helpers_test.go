//go:build chaos

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// Chaos tests (`make chaos`: go test -tags chaos -run '^TestChaos'
// ./test/e2e): faults of the control plane under load. The build tag keeps
// them out of `make e2e`; the test binary starts its own cluster, which the
// faults break and heal. Clients retry with one idempotency key per
// intended run, as the README asks of anything that gets a 503 or exit 75.

// attempt is one answer a chaos client got for a key: a hook POST or a
// `kubectl shipjob run`.
type attempt struct {
	client   int
	key      string
	sent, at time.Time
	code     int // HTTP status, or the CLI's exit code
	run      string
	detail   string // body or stderr of a refusal, transport error
}

// success reports whether the attempt started (or replayed) the key's run.
func (a attempt) success(cli bool) bool {
	if cli {
		return a.code == 0
	}
	return a.code == http.StatusCreated || a.code == http.StatusOK
}

// retryable reports whether a client retries the key after a.
func (a attempt) retryable(cli bool) bool {
	if cli {
		return a.code == 75
	}
	return a.code == http.StatusServiceUnavailable
}

// chaosLoad runs hookClients clients against the hook servers (round
// robin) and cliClients `kubectl shipjob run` loops, each trying keys
// client-N-1, -2, … in turn, each key until it succeeds; a client stops
// after stop is set and its current key succeeded.
type chaosLoad struct {
	ns, job, token string
	urls           []string
	hookClients    int
	cliClients     int
	stop           atomic.Bool
	wg             sync.WaitGroup
	mu             sync.Mutex
	attempts       []attempt
}

func (l *chaosLoad) isCLI(client int) bool { return client >= l.hookClients }

func (l *chaosLoad) start(t *testing.T) {
	for c := range l.hookClients + l.cliClients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for n := 1; !l.stop.Load(); n++ {
				key := fmt.Sprintf("client-%d-%d", c, n)
				for {
					a := l.try(t, c, key)
					l.mu.Lock()
					l.attempts = append(l.attempts, a)
					l.mu.Unlock()
					if a.success(l.isCLI(c)) || !a.retryable(l.isCLI(c)) {
						break // a refusal other than "retry" is reported by check
					}
					time.Sleep(300 * time.Millisecond) // on purpose: a client's back-off
				}
				time.Sleep(400 * time.Millisecond) // on purpose: bounded load (2 cores)
			}
		}()
	}
}

func (l *chaosLoad) try(t *testing.T, c int, key string) attempt {
	a := attempt{client: c, key: key, sent: time.Now()}
	if l.isCLI(c) {
		res := shipjob(t, "run", l.job, "-n", l.ns, "--idempotency-key", key)
		a.at, a.code, a.detail = time.Now(), res.Code, res.Stderr
		if res.Code == 0 {
			a.run = runName(t, res.Stdout)
		}
		return a
	}
	req, _ := http.NewRequest(http.MethodPost, l.urls[c%len(l.urls)]+"/api/v1/dh", strings.NewReader(`{}`))
	req.Header.Set("X-Deploy-Hook-Token", l.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := hookClient.Do(req)
	a.at = time.Now()
	if err != nil {
		a.detail = err.Error()
		return a
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	a.code, a.detail = resp.StatusCode, string(body)
	if a.success(false) {
		var tr triggered
		if json.Unmarshal(body, &tr) == nil {
			a.run = tr.Run
		}
	}
	return a
}

// finish stops the load once every client succeeded after healed (when
// the heal began) and
// waits for the clients' last keys.
func (l *chaosLoad) finish(t *testing.T, healed time.Time) {
	t.Helper()
	eventually(t, 2*time.Minute, "a success of every client after the heal", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		seen := map[int]bool{}
		for _, a := range l.attempts {
			if a.sent.After(healed) && a.success(l.isCLI(a.client)) {
				seen[a.client] = true
			}
		}
		return len(seen) == l.hookClients+l.cliClients
	})
	l.stop.Store(true)
	l.wg.Wait()
}

// faultReport is what check counted.
type faultReport struct {
	keys, runs, hook503, cli75, successes int
	waited                                int           // sent before the heal, answered after it
	maxWait                               time.Duration // the longest of those
	healFirst, healAll                    time.Duration // heal → the first success, every client's
}

// check verifies the load's exactly-once results: during the fault
// (answered from down+1s until the heal began) only 503 or exit 75; no other answer
// at any time; every key succeeded with one run, every run of the job
// belongs to one key; no release record left pending.
func (l *chaosLoad) check(t *testing.T, down, healed time.Time) faultReport {
	t.Helper()
	var r faultReport
	byKey := map[string]string{}
	lastSuccess := map[int]time.Time{}
	for _, a := range l.attempts {
		cli := l.isCLI(a.client)
		if a.sent.Before(healed) && a.at.After(healed) {
			r.waited++
			r.maxWait = max(r.maxWait, a.at.Sub(a.sent))
		}
		switch {
		case a.success(cli):
			r.successes++
			if a.run == "" {
				t.Errorf("key %s: success without a run name (%q)", a.key, a.detail)
			}
			if prev, ok := byKey[a.key]; ok && prev != a.run {
				t.Errorf("key %s answered runs %s and %s", a.key, prev, a.run)
			}
			byKey[a.key] = a.run
			if a.at.After(down.Add(time.Second)) && a.at.Before(healed) {
				t.Errorf("key %s: success %s into the fault, before the heal", a.key, a.at.Sub(down).Round(time.Millisecond))
			}
			if _, ok := lastSuccess[a.client]; !ok && a.sent.After(healed) {
				lastSuccess[a.client] = a.at
			}
		case a.retryable(cli):
			if cli {
				r.cli75++
				if strings.Count(strings.TrimSpace(a.detail), "\n") != 0 || !strings.HasPrefix(a.detail, "error: ") && !strings.HasPrefix(a.detail, "Error from server") {
					t.Errorf("exit 75 with stderr %q, want one error line", a.detail)
				}
			} else {
				r.hook503++
			}
		default:
			t.Errorf("client %d key %s at %s from the fault: answer %d %q, want a success, 503 or exit 75",
				a.client, a.key, a.at.Sub(down).Round(time.Millisecond), a.code, tail(a.detail, 300))
		}
	}
	keys := map[string]bool{}
	for _, a := range l.attempts {
		keys[a.key] = true
	}
	r.keys = len(keys)
	for k := range keys {
		if _, ok := byKey[k]; !ok {
			t.Errorf("key %s never succeeded", k)
		}
	}
	owner := map[string]string{}
	for k, run := range byKey {
		if o, ok := owner[run]; ok {
			t.Errorf("run %s answered for keys %s and %s", run, o, k)
		}
		owner[run] = k
	}
	jobs := runJobs(t, l.ns, l.job)
	r.runs = len(jobs)
	for _, j := range jobs {
		if _, ok := owner[j]; !ok {
			t.Errorf("run %s exists but no client got it", j)
		}
	}
	for run, k := range owner {
		if i := sort.SearchStrings(jobs, run); i == len(jobs) || jobs[i] != run {
			t.Errorf("key %s answered run %s, which has no Job", k, run)
		}
	}
	for _, at := range lastSuccess {
		r.healAll = max(r.healAll, at.Sub(healed))
		if r.healFirst == 0 || at.Sub(healed) < r.healFirst {
			r.healFirst = at.Sub(healed)
		}
	}
	if pending := pendingReleases(t, l.ns, l.job); pending != "" {
		t.Errorf("release records left pending after the heal: %s", pending)
	}
	return r
}

// pendingReleases lists the job's Helm release records whose status is
// pending-*.
func pendingReleases(t *testing.T, ns, job string) string {
	t.Helper()
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	list, err := cs.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm,name=" + job})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range list.Items {
		if strings.HasPrefix(s.Labels["status"], "pending") {
			out = append(out, s.Name+"="+s.Labels["status"])
		}
	}
	return strings.Join(out, ",")
}
