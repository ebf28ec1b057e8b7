package e2e

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// The tests in this file are not parallel: they measure, and Go runs
// non-parallel top-level tests alone (parallel ones wait in t.Parallel()).

// result is one request of a load test.
type result struct {
	code    int
	run     string
	latency time.Duration
	err     error
}

func summarize(rs []result) (codes map[int]int, errs int, lat []time.Duration) {
	codes = map[int]int{}
	for _, r := range rs {
		if r.err != nil {
			errs++
			continue
		}
		codes[r.code]++
		lat = append(lat, r.latency)
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	return codes, errs, lat
}

func post(url, token, body string) result {
	start := time.Now()
	code, out, err := hookCall(http.MethodPost, url+"/api/v1/dh", token, "application/json", body)
	r := result{code: code, latency: time.Since(start), err: err}
	if code == http.StatusCreated {
		if i := strings.Index(out, `"run":"`); i >= 0 {
			r.run = strings.SplitN(out[i+7:], `"`, 2)[0]
		}
	}
	return r
}

func TestHookTwoReplicas50ConcurrentTriggersOfOneJob(t *testing.T) {
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "burst")
	_, token := createHook(t, ns, "burst", "load")
	replicas := []*hookServer{startHookServer(t, "-n", ns, "--rate-limit", "0"), startHookServer(t, "-n", ns, "--rate-limit", "0")}
	const n = 50
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = post(replicas[i%2].URL, token, fmt.Sprintf(`{"imageTag":"r%d"}`, i))
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	wall := time.Since(began)
	codes, errs, lat := summarize(results)
	t.Logf("%d concurrent triggers of one job over 2 replicas: wall %s, p50 %s, p99 %s, max %s, codes %v, transport errors %d",
		n, wall.Round(time.Millisecond), percentile(lat, 50).Round(time.Millisecond), percentile(lat, 99).Round(time.Millisecond),
		percentile(lat, 100).Round(time.Millisecond), codes, errs)
	if errs != 0 || codes[201] != n {
		t.Fatalf("want %d × 201 and no errors: codes %v, errors %d", n, codes, errs)
	}
	names := map[string]bool{}
	for _, r := range results {
		names[r.run] = true
	}
	jobs := runJobs(t, ns, "burst")
	if len(names) != n || len(jobs) != n {
		t.Fatalf("%d distinct runs answered, %d Jobs exist; want %d", len(names), len(jobs), n)
	}
	for _, j := range jobs {
		if !names[j] {
			t.Fatalf("Job %s was not answered to anyone", j)
		}
	}
}

func TestHookLoadRejectedTokens(t *testing.T) {
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "guarded")
	id, _ := createHook(t, ns, "guarded", "real")
	// Without the per-address limit of unauthenticated requests (all come
	// from 127.0.0.1 and would be 429s): the cost of a rejection itself.
	srv := startHookServer(t, "-n", ns, "--log-level", "info", "--unauthenticated-rate-limit", "0")
	// A well-formed token of an existing hook with a wrong secret: the
	// most expensive rejection (hash and compare).
	wrong := id + "_" + strings.Repeat("x", 43)
	const workers, duration = 16, 2 * time.Second
	var ok, bad atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(duration)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				code, _, err := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", wrong, "application/json", `{}`)
				if err == nil && code == 404 {
					ok.Add(1)
				} else {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	rate := float64(ok.Load()) / duration.Seconds()
	t.Logf("rejected tokens: %d × 404 in %s with %d clients (client and server on the same 2 cores): %.0f req/s, %d other",
		ok.Load(), duration, workers, rate, bad.Load())
	if bad.Load() != 0 || rate < 1000 {
		t.Fatalf("%.0f req/s, %d unexpected answers", rate, bad.Load())
	}
}

func TestHookLoadTenClientsDistinctJobs(t *testing.T) {
	ns := cluster.Namespace(t, false)
	const clients, each = 10, 10
	tokens := make([]string, clients)
	for i := range clients {
		job := fmt.Sprintf("svc%d", i)
		createSimJob(t, ns, job)
		_, tokens[i] = createHook(t, ns, job, "load")
	}
	srv := startHookServer(t, "-n", ns, "--rate-limit", "0", "--log-level", "info")
	results := make([]result, clients*each)
	var wg sync.WaitGroup
	cpu0 := serverCPU(t, srv)
	began := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				results[c*each+k] = post(srv.URL, tokens[c], `{}`)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(began)
	cpu := serverCPU(t, srv) - cpu0
	codes, errs, lat := summarize(results)
	t.Logf("%d clients × %d sequential triggers of distinct jobs: wall %s (%.1f triggers/s), p50 %s, p90 %s, p99 %s, codes %v; "+
		"hook server CPU %.0f ms per trigger",
		clients, each, wall.Round(time.Millisecond), float64(len(lat))/wall.Seconds(), percentile(lat, 50).Round(time.Millisecond),
		percentile(lat, 90).Round(time.Millisecond), percentile(lat, 99).Round(time.Millisecond), codes, cpu*1000/float64(len(lat)))
	if errs != 0 || codes[201] != clients*each {
		t.Fatalf("codes %v, errors %d", codes, errs)
	}
}

// serverCPU is the server's process_cpu_seconds_total (from /metrics).
func serverCPU(t *testing.T, s *hookServer) float64 {
	t.Helper()
	_, out, err := hookCall(http.MethodGet, s.URL+"/metrics", "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "process_cpu_seconds_total "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatal("no process_cpu_seconds_total in /metrics")
	return 0
}
