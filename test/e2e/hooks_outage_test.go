package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// TestHookAPIServerOutageUnderLoad stops the shared kube-apiserver for 5 s
// while clients trigger runs through two replicas. It must not run in
// parallel with other tests, and does not: it never calls t.Parallel(), and
// Go runs such top-level tests alone (parallel tests of the package wait in
// t.Parallel() until every non-parallel one has finished).
func TestHookAPIServerOutageUnderLoad(t *testing.T) {
	ns := cluster.Namespace(t, false)
	const jobs = 4
	tokens := make([]string, jobs)
	for i := range jobs {
		createSimJob(t, ns, fmt.Sprintf("o%d", i))
		_, tokens[i] = createHook(t, ns, fmt.Sprintf("o%d", i), "outage")
	}
	replicas := []*hookServer{startHookServer(t, "-n", ns, "--rate-limit", "0"), startHookServer(t, "-n", ns, "--rate-limit", "0")}

	type sample struct {
		at time.Time
		result
		job int
	}
	var mu sync.Mutex
	var samples []sample
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 2 * jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				r := post(replicas[w%2].URL, tokens[w%jobs], `{}`)
				mu.Lock()
				samples = append(samples, sample{at: time.Now(), result: r, job: w % jobs})
				mu.Unlock()
				// Bounded load: every 201 is a run whose Job and pod the
				// controllers must later garbage-collect with the namespace;
				// hundreds of them kept the Job controller of the shared
				// cluster busy for over a minute after this test.
				time.Sleep(250 * time.Millisecond)
			}
		}()
	}
	time.Sleep(2 * time.Second) // on purpose: two seconds of load before the outage
	down := time.Now()
	cluster.Shared.StopAPIServer()
	var notReady atomic.Bool
	go func() { // /readyz must fail while the API server is away
		for time.Since(down) < 5*time.Second {
			if code, _, _ := hookCall(http.MethodGet, replicas[0].URL+"/readyz", "", "", ""); code == 503 {
				notReady.Store(true)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	time.Sleep(5 * time.Second) // on purpose: the outage lasts five seconds
	restart := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cluster.Shared.StartAPIServer(ctx); err != nil {
		stop.Store(true)
		t.Fatalf("restart kube-apiserver: %v", err)
	}
	up := time.Now()
	// Load goes on until every job triggered again after the restart.
	eventually(t, 90*time.Second, "triggers of every job after the restart", func() bool {
		mu.Lock()
		defer mu.Unlock()
		seen := map[int]bool{}
		for _, s := range samples {
			if s.at.After(up) && s.code == 201 {
				seen[s.job] = true
			}
		}
		return len(seen) == jobs
	})
	stop.Store(true)
	wg.Wait()

	codes := map[string]map[int]int{"before": {}, "outage": {}, "restarting": {}, "after": {}}
	var firstAfter time.Duration
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		phase := "before"
		switch {
		case s.at.After(up):
			phase = "after"
			if s.code == 201 && firstAfter == 0 {
				firstAfter = s.at.Sub(up)
			}
		case s.at.After(restart):
			phase = "restarting"
		case s.at.After(down):
			phase = "outage"
			if s.code == 201 && s.at.Sub(down) > time.Second {
				t.Errorf("201 %s into the outage", s.at.Sub(down))
			}
		}
		if s.err != nil {
			t.Errorf("transport error (%s): %v", phase, s.err)
			continue
		}
		codes[phase][s.code]++
		if s.code != 201 && s.code != 503 {
			t.Errorf("answer %d (%s), want only 201 or 503", s.code, phase)
		}
		if s.code == 201 {
			if _, err := cs.BatchV1().Jobs(ns).Get(context.Background(), s.run, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				t.Errorf("201 for run %s (%s) but no Job", s.run, phase)
			} else if err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("answers before %v, during the 5 s outage %v, while kube-apiserver restarted (%s) %v, after %v; "+
		"first 201 %s after it was ready; /readyz failed during the outage: %v",
		codes["before"], codes["outage"], up.Sub(restart).Round(time.Millisecond), codes["restarting"], codes["after"],
		firstAfter.Round(time.Millisecond), notReady.Load())
	if codes["outage"][503] == 0 || codes["before"][201] == 0 || !notReady.Load() {
		t.Fatal("want 201s before, 503s during the outage and a failing /readyz")
	}
	for _, s := range replicas {
		if code := s.stop(t); code != 0 {
			t.Errorf("replica exit %d", code)
		}
	}
}
