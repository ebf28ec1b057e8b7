package e2e

import (
	"strings"
	"testing"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// TestParallelTasks: a job of three tasks runs as an Indexed Job on the
// real Job controller; --wait exits with its result, runs says how many
// tasks succeeded, logs prefix each line with its task, and a failing run
// exits with the code of the task that failed first.
func TestParallelTasks(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "shards", "--env", "SIM_DURATION=1s", "--tasks", "3", "--parallelism", "3", "--param", "SIM_EXIT_CODE=0")
	run := trigger(t, ns, "shards", "--wait")
	job := getJob(t, ns, run)
	if job.Spec.Completions == nil || *job.Spec.Completions != 3 || job.Spec.CompletionMode == nil || string(*job.Spec.CompletionMode) != "Indexed" {
		t.Fatalf("run %s is not an Indexed Job of 3: %+v", run, job.Spec)
	}
	var st runStatus
	for _, r := range listRuns(t, ns, "shards") {
		if r.Name == run {
			st = r
		}
	}
	if st.Phase != "Succeeded" || !strings.HasSuffix(st.Message, "(3 tasks)") {
		t.Errorf("runs: %+v", st)
	}
	logs := mustShipjob(t, "logs", run, "-n", ns)
	for _, task := range []string{"[task 0] ", "[task 1] ", "[task 2] "} {
		if !strings.Contains(logs, task+cluster.SimulatedLogLines[0]) {
			t.Errorf("logs have no %q line:\n%s", task, logs)
		}
	}
	res := shipjob(t, "run", "shards", "-n", ns, "--param", "SIM_EXIT_CODE=4", "--wait")
	if res.Code != 4 {
		t.Fatalf("run --wait of failing tasks: exit %d, want 4: %s", res.Code, res.Stderr)
	}
	failed := runName(t, res.Stdout)
	// run --tasks overrides the job's for one run.
	single := trigger(t, ns, "shards", "--tasks", "1")
	if job := getJob(t, ns, single); job.Spec.CompletionMode != nil && string(*job.Spec.CompletionMode) == "Indexed" {
		t.Errorf("run --tasks 1 made an Indexed Job")
	}
	for _, r := range listRuns(t, ns, "shards") {
		if r.Name == failed && (r.Phase != "Failed" || !strings.HasPrefix(r.Message, "Exit code 4 (task ") || !strings.Contains(r.Message, "/3 tasks succeeded")) {
			t.Errorf("failed run: %+v", r)
		}
	}
}
