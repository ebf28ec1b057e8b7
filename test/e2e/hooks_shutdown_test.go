package e2e

import (
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// TestHookSIGTERMFinishesInFlightTriggers sends SIGTERM while triggers of
// one job queue in the server: every accepted request still gets its 201
// and its run, the server exits 0, and then refuses connections.
func TestHookSIGTERMFinishesInFlightTriggers(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "drain")
	_, token := createHook(t, ns, "drain", "CI")
	srv := startHookServer(t, "-n", ns, "--rate-limit", "0")
	const n = 20 // serialized per job: a second or more of work
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = post(srv.URL, token, `{}`)
		}()
	}
	// All requests were sent at once; once the first is answered the others
	// are connected and queue for the job.
	answered := func() int { return strings.Count(srv.logs.String(), `"path":"/api/v1/dh","status":201`) }
	poll(t, 10*time.Second, 5*time.Millisecond, "the first trigger answered", func() bool { return answered() > 0 }, nil)
	inFlight := n - answered()
	sent := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	code := srv.stop(t)
	codes, errs, _ := summarize(results)
	t.Logf("SIGTERM with %d triggers in flight: answers %v, transport errors %d, exit %d, drained in %s",
		inFlight, codes, errs, code, time.Since(sent).Round(time.Millisecond))
	if errs != 0 || codes[201] != n || code != 0 || inFlight < n/2 {
		t.Fatalf("want %d × 201 and exit 0: %v, %d errors, exit %d", n, codes, errs, code)
	}
	jobs := runJobs(t, ns, "drain")
	if len(jobs) != n {
		t.Fatalf("%d runs, want %d", len(jobs), n)
	}
	if _, _, err := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", token, "", ""); err == nil {
		t.Fatal("the stopped server still answers")
	}
	if logs := srv.logs.String(); !strings.Contains(logs, "shutting down") || !strings.Contains(logs, `"msg":"stopped"`) {
		t.Fatalf("shutdown not logged:\n%s", tail(logs, 2000))
	}
}
