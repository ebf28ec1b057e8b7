package e2e

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// triggerAtOnce runs `kubectl shipjob run JOB` from n separate processes at
// once and returns their results.
func triggerAtOnce(t *testing.T, ns, job string, n int) []cluster.Result {
	t.Helper()
	results := make([]cluster.Result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = shipjob(t, "run", job, "-n", ns)
		}()
	}
	close(start)
	wg.Wait()
	return results
}

// countOutcomes counts the exits 0 and checks every other one is exit 1
// with one line containing refusal.
func countOutcomes(t *testing.T, results []cluster.Result, refusal string) int {
	t.Helper()
	ok := 0
	for _, r := range results {
		switch {
		case r.Code == 0:
			ok++
		case r.Code != 1 || !strings.Contains(r.Stderr, refusal) || strings.Count(r.Stderr, "\n") != 1:
			t.Errorf("refused trigger: exit %d, stderr %q, want exit 1 with %q", r.Code, r.Stderr, refusal)
		}
	}
	return ok
}

// TestConcurrencyPolicyAcrossProcesses: twenty simultaneous triggers from
// separate processes of a Forbid job create exactly one run, of a job with
// maxActiveRuns 3 exactly three; the others are refused naming the reason,
// and nothing of theirs stays behind.
func TestConcurrencyPolicyAcrossProcesses(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "single", "--env", "SIM_DURATION=120s", "--concurrency-policy", "Forbid",
		"--file", "/etc/app.conf="+writeTemp(t, "x=1"))
	createSimJob(t, ns, "three", "--env", "SIM_DURATION=120s", "--max-active-runs", "3")

	if ok := countOutcomes(t, triggerAtOnce(t, ns, "single", 20), "forbids concurrent runs and run single-"); ok != 1 {
		t.Errorf("Forbid: %d of 20 triggers created a run, want exactly 1", ok)
	}
	if runs := listRuns(t, ns, "single"); len(runs) != 1 {
		t.Errorf("Forbid: %d runs listed, want 1", len(runs))
	}
	if files := cluster.Kubectl(t, "-n", ns, "get", "secrets", "-l", "shipjob.dev/kind=run-files", "-o", "name"); strings.Count(files, "\n") != 1 {
		t.Errorf("Forbid: files Secrets %q, want only the one run's", files)
	}
	if ok := countOutcomes(t, triggerAtOnce(t, ns, "three", 20), "has 3 active runs, its limit (maxActiveRuns)"); ok != 3 {
		t.Errorf("maxActiveRuns 3: %d of 20 triggers created a run, want exactly 3", ok)
	}
	if runs := listRuns(t, ns, "three"); len(runs) != 3 {
		t.Errorf("maxActiveRuns 3: %d runs listed, want 3", len(runs))
	}
	// A cancelled run is no longer active: the next trigger goes through.
	mustShipjob(t, "cancel", "single", "-n", ns)
	trigger(t, ns, "single")
}

// TestConcurrencyPolicyReplace: a trigger of a Replace job cancels its
// active run, listed as Cancelled with "replaced by NEW".
func TestConcurrencyPolicyReplace(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "latest", "--env", "SIM_DURATION=120s", "--concurrency-policy", "Replace")
	first := trigger(t, ns, "latest")
	second := trigger(t, ns, "latest")
	eventually(t, 60*time.Second, "the first run cancelled", func() bool {
		for _, r := range listRuns(t, ns, "latest") {
			if r.Name == first {
				return r.Phase == "Cancelled" && strings.Contains(r.Message, "replaced by "+second)
			}
		}
		return false
	})
	for _, r := range listRuns(t, ns, "latest") {
		if r.Name == second && r.Phase == "Cancelled" {
			t.Errorf("the new run %s was cancelled too: %+v", second, r)
		}
	}
}

// TestConcurrencyPolicyThroughTwoHookReplicas: twenty simultaneous hook
// calls spread over two servers for a Forbid job: exactly one 201, the
// others 409 naming the active run.
func TestConcurrencyPolicyThroughTwoHookReplicas(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "deploy", "--env", "SIM_DURATION=120s", "--concurrency-policy", "Forbid")
	_, token := createHook(t, ns, "deploy", "ci")
	servers := []*hookServer{startHookServer(t, "-n", ns), startHookServer(t, "-n", ns)}
	codes := make([]int, 20)
	bodies := make([]string, 20)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body, err := hookCall(http.MethodPost, servers[i%2].URL+"/api/v1/dh", token, "application/json", "{}")
			if err != nil {
				t.Error(err)
			}
			codes[i], bodies[i] = code, body
		}()
	}
	wg.Wait()
	created := 0
	for i, c := range codes {
		switch {
		case c == http.StatusCreated:
			created++
		case c != http.StatusConflict || !strings.Contains(bodies[i], "forbids concurrent runs"):
			t.Errorf("call %d: %d %s, want 201 or 409", i, c, bodies[i])
		}
	}
	if created != 1 {
		t.Errorf("%d calls created a run, want exactly 1 (codes %v)", created, codes)
	}
	if runs := listRuns(t, ns, "deploy"); len(runs) != 1 {
		t.Errorf("%d runs listed, want 1", len(runs))
	}
}

// TestIdempotencyKeyAcrossProcessesAndReplicas: twenty simultaneous
// triggers with one key from separate processes create exactly one run and
// all print it; the same key through two hook replicas answers one 201 and
// 200s with that run; the same key with other parameters is refused naming
// the run.
func TestIdempotencyKeyAcrossProcessesAndReplicas(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "deploy", "--env", "SIM_DURATION=2s", "--param", "TARGET=latest")
	results := make([]cluster.Result, 20)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = shipjob(t, "run", "deploy", "-n", ns, "--idempotency-key", "ci:build-42", "-p", "TARGET=v1")
		}()
	}
	wg.Wait()
	runs, created := map[string]bool{}, 0
	for _, r := range results {
		if r.Code != 0 {
			t.Fatalf("trigger with a key: exit %d: %s", r.Code, r.Stderr)
		}
		runs[runName(t, r.Stdout)] = true
		if strings.HasSuffix(strings.TrimSpace(r.Stdout), " created") {
			created++
		} else if !strings.HasSuffix(strings.TrimSpace(r.Stdout), " unchanged") {
			t.Errorf("output %q, want created or unchanged", r.Stdout)
		}
	}
	if len(runs) != 1 || created != 1 {
		t.Fatalf("20 triggers with one key: runs %v, %d created; want one run, created once", runs, created)
	}
	if n := len(listRuns(t, ns, "deploy")); n != 1 {
		t.Fatalf("%d runs listed, want 1", n)
	}
	res := shipjob(t, "run", "deploy", "-n", ns, "--idempotency-key", "ci:build-42", "-p", "TARGET=v2")
	if res.Code != 1 || !strings.Contains(res.Stderr, `idempotency key "ci:build-42" was used by run `) {
		t.Errorf("same key, other parameters: exit %d, %q", res.Code, res.Stderr)
	}
	// --wait on an unchanged run waits for it and exits with its result.
	if out := mustShipjob(t, "run", "deploy", "-n", ns, "--idempotency-key", "ci:build-42", "-p", "TARGET=v1", "--wait"); !strings.Contains(out, " unchanged") {
		t.Errorf("--wait with the key printed %q", out)
	}

	_, token := createHook(t, ns, "deploy", "ci")
	servers := []*hookServer{startHookServer(t, "-n", ns), startHookServer(t, "-n", ns)}
	codes := make([]int, 20)
	bodies := make([]string, 20)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, servers[i%2].URL+"/api/v1/dh", strings.NewReader(`{"instanceEnvironmentVariables":[{"name":"TARGET","value":"v9"}]}`))
			req.Header.Set("X-Deploy-Hook-Token", token)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "deploy-7")
			resp, err := hookClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			codes[i], bodies[i] = resp.StatusCode, string(b)
		}()
	}
	wg.Wait()
	hookRuns, n201 := map[string]bool{}, 0
	for i, c := range codes {
		if c != http.StatusCreated && c != http.StatusOK {
			t.Fatalf("hook call %d: %d %s", i, c, bodies[i])
		}
		if c == http.StatusCreated {
			n201++
		}
		hookRuns[decodeTriggered(t, bodies[i]).Run] = true
	}
	if n201 != 1 || len(hookRuns) != 1 {
		t.Errorf("20 hook calls with one key: %d 201s, runs %v; want one 201 and one run", n201, hookRuns)
	}
}
