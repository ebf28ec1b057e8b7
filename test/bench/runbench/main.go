// Command runbench measures a trigger side by side with its peer on the
// local cluster, in one run: `kubectl shipjob run` (and the plugin binary
// called directly) against `kubectl create job`, alternating, reporting
// median wall times, their ratio and API requests per operation counted
// from the API server's audit log by user agent.
//
//	go run ./test/bench/runbench -state .cache/cluster-state -n 21
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/bench/benchkit"
	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

func main() {
	state := flag.String("state", ".cache/cluster-state", "state dir of a cluster started by make cluster-up")
	plugin := flag.String("plugin", "bin/kubectl-shipjob", "kubectl-shipjob binary under test")
	n := flag.Int("n", 21, "measured repetitions of each operation")
	runs := flag.Int("history", 0, "instead: measure `runs` over a job with this many finished runs")
	defs := flag.Int("jobs", 0, "instead: measure `list` over this many job definitions")
	flag.Parse()
	var err error
	if *defs > 0 {
		err = withCluster(*state, *plugin, func(c *cluster.Cluster, plugin string) error { return jobs(c, plugin, *defs, *n) })
	} else if *runs > 0 {
		err = withCluster(*state, *plugin, func(c *cluster.Cluster, plugin string) error { return history(c, plugin, *runs, *n) })
	} else {
		err = run(*state, *plugin, *n)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "runbench:", err)
		os.Exit(1)
	}
}

func withCluster(state, plugin string, fn func(*cluster.Cluster, string) error) error {
	c, plugin, err := benchkit.Running(state, plugin)
	if err != nil {
		return err
	}
	return fn(c, plugin)
}

func run(state, plugin string, n int) error {
	return withCluster(state, plugin, func(c *cluster.Cluster, plugin string) error { return trigger(c, plugin, n) })
}

func trigger(c *cluster.Cluster, plugin string, n int) error {
	env := append(os.Environ(), "KUBECONFIG="+c.Kubeconfig, "PATH="+filepath.Dir(plugin)+":"+os.Getenv("PATH"))
	ns := fmt.Sprintf("bench-%d", time.Now().Unix())
	for _, args := range [][]string{
		{"kubectl", "create", "namespace", ns},
		{plugin, "create", "bench", "-n", ns, "--image", "example.com/acme/sim:1", "--retention", "1h"},
		// The same job without concurrency rules (maxActiveRuns 0, Allow).
		{plugin, "create", "bench-free", "-n", ns, "--image", "example.com/acme/sim:1", "--retention", "1h", "--max-active-runs", "0"},
	} {
		if out, err := benchkit.Command(env, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %w: %s", args, err, out)
		}
	}
	ops := []*benchkit.Op{
		{Name: "kubectl create job", Agent: "kubectl/", Cmd: func(i int) *exec.Cmd {
			return benchkit.Command(env, "kubectl", "create", "job", fmt.Sprintf("peer-%d", i), "-n", ns, "--image", "example.com/acme/sim:1")
		}},
		{Name: "kubectl shipjob run (through kubectl)", Agent: "kubectl-shipjob/", Cmd: func(int) *exec.Cmd {
			return benchkit.Command(env, "kubectl", "shipjob", "run", "bench", "-n", ns)
		}},
		{Name: "kubectl-shipjob run (binary)", Agent: "kubectl-shipjob/", Cmd: func(int) *exec.Cmd {
			return benchkit.Command(env, plugin, "run", "bench", "-n", ns)
		}},
		{Name: "kubectl-shipjob run, no concurrency rules (maxActiveRuns 0)", Agent: "kubectl-shipjob/", Cmd: func(int) *exec.Cmd {
			return benchkit.Command(env, plugin, "run", "bench-free", "-n", ns)
		}},
		{Name: "kubectl-shipjob run --idempotency-key (a new key each time)", Agent: "kubectl-shipjob/", Cmd: func(i int) *exec.Cmd {
			return benchkit.Command(env, plugin, "run", "bench", "-n", ns, "--idempotency-key", fmt.Sprintf("bench-%s-%d", ns, i))
		}},
		{Name: "kubectl-shipjob run --idempotency-key (the run exists: unchanged)", Agent: "kubectl-shipjob/", Cmd: func(int) *exec.Cmd {
			return benchkit.Command(env, plugin, "run", "bench", "-n", ns, "--idempotency-key", "bench-"+ns+"-0")
		}},
	}
	if err := benchkit.Measure(c.AuditLog, ops, n, 3); err != nil {
		return err
	}
	benchkit.PrintTable(ops, n)
	return nil
}
