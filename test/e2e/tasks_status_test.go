package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// TestIndexedStatusFromJobStatus: the status of a run of many tasks is
// right through the CLI (`runs`, `run --wait`) and the hook status
// endpoint, and none of them lists every task's pod: each pod list in the
// namespace carries a limit or one task's index (review N6; the audit log
// records every request).
func TestIndexedStatusFromJobStatus(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	const tasks = "150"
	createSimJob(t, ns, "wide", "--env", "SIM_DURATION=1s", "--tasks", tasks, "--parallelism", tasks, "--param", "SIM_EXIT_CODE=0")
	ok := trigger(t, ns, "wide", "--wait", "--wait-timeout", "5m")
	res := shipjob(t, "run", "wide", "-n", ns, "--param", "SIM_EXIT_CODE=4", "--wait", "--wait-timeout", "5m")
	if res.Code != 4 {
		t.Fatalf("failing run --wait: exit %d, want 4: %s", res.Code, res.Stderr)
	}
	failed := runName(t, res.Stdout)
	for _, r := range listRuns(t, ns, "wide") {
		switch {
		case r.Name == ok && (r.Phase != "Succeeded" || !strings.HasSuffix(r.Message, "("+tasks+" tasks)")):
			t.Errorf("runs: succeeded run %+v", r)
		case r.Name == failed && (r.Phase != "Failed" || !strings.HasPrefix(r.Message, "Exit code 4 (task ") ||
			!strings.HasSuffix(r.Message, "; 0/"+tasks+" tasks succeeded")):
			t.Errorf("runs: failed run %+v", r)
		}
	}
	_, token := createHook(t, ns, "wide", "ci")
	srv := startHookServer(t, "-n", ns)
	for run, want := range map[string]string{ok: `"phase":"Succeeded"`, failed: `"exitCode":4`} {
		code, body, err := hookCall("GET", srv.URL+"/api/v1/dh/runs/"+run, token, "", "")
		if err != nil || code != 200 || !strings.Contains(body, want) {
			t.Errorf("hook status of %s: %d %s %v, want %s", run, code, body, err, want)
		}
	}
	if res := shipjob(t, "logs", failed, "-n", ns, "--task", "3"); res.Code != 0 || !strings.HasPrefix(res.Stdout, "[task 3] ") ||
		strings.Contains(res.Stdout, "[task 4] ") {
		t.Errorf("logs --task 3: exit %d %q %s", res.Code, res.Stdout, res.Stderr)
	}
	for _, bad := range []string{"-1", "10000"} {
		if res := shipjob(t, "logs", failed, "-n", ns, "--task", bad); res.Code != 1 || strings.TrimSpace(res.Stderr) != "error: --task must be a task index from 0 to 9999" {
			t.Errorf("logs --task %s: exit %d %q", bad, res.Code, res.Stderr)
		}
	}
	var lists, unbounded []string
	eventually(t, 20*time.Second, "the hook server's status reads in the audit log", func() bool {
		lists, unbounded = podLists(t, ns)
		return len(lists) >= 2
	})
	if len(unbounded) > 0 {
		t.Errorf("%d of %d pod lists in %s read every task:\n%s", len(unbounded), len(lists), ns, strings.Join(unbounded, "\n"))
	}
}

// podLists are the request URIs of every pod LIST in ns (watches aside),
// and those with neither a limit nor one task's index.
func podLists(t *testing.T, ns string) (all, unbounded []string) {
	t.Helper()
	f, err := os.Open(cluster.Shared.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if !strings.Contains(sc.Text(), "/namespaces/"+ns+"/pods?") {
			continue
		}
		var ev struct {
			Stage, Verb, RequestURI string
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Verb != "list" || ev.Stage != "ResponseComplete" {
			continue
		}
		all = append(all, ev.RequestURI)
		if !strings.Contains(ev.RequestURI, "limit=") && !strings.Contains(ev.RequestURI, "job-completion-index%3D") {
			unbounded = append(unbounded, ev.RequestURI)
		}
	}
	return all, unbounded
}
