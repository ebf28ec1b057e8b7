// Command runbench measures a trigger side by side with its peer on the
// local cluster, in one run: `kubectl shipjob run` (and the plugin binary
// called directly) against `kubectl create job`, alternating, reporting
// median wall times, their ratio and API requests per operation counted
// from the API server's audit log by user agent.
//
//	go run ./test/bench/runbench -state .cache/cluster-state -n 21
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

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

type op struct {
	name  string
	agent string // user agent prefix of its API requests
	cmd   func(i int) *exec.Cmd
	walls []time.Duration
	reqs  []int
}

func withCluster(state, plugin string, fn func(*cluster.Cluster, string) error) error {
	dir, err := os.ReadFile(filepath.Join(state, "current"))
	if err != nil {
		return fmt.Errorf("no running local cluster (make cluster-up): %w", err)
	}
	c, err := cluster.Load(strings.TrimSpace(string(dir)))
	if err != nil {
		return err
	}
	plugin, err = filepath.Abs(plugin)
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
		if out, err := command(env, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %w: %s", args, err, out)
		}
	}
	ops := []*op{
		{name: "kubectl create job", agent: "kubectl/", cmd: func(i int) *exec.Cmd {
			return command(env, "kubectl", "create", "job", fmt.Sprintf("peer-%d", i), "-n", ns, "--image", "example.com/acme/sim:1")
		}},
		{name: "kubectl shipjob run (through kubectl)", agent: "kubectl-shipjob/", cmd: func(int) *exec.Cmd {
			return command(env, "kubectl", "shipjob", "run", "bench", "-n", ns)
		}},
		{name: "kubectl-shipjob run (binary)", agent: "kubectl-shipjob/", cmd: func(int) *exec.Cmd {
			return command(env, plugin, "run", "bench", "-n", ns)
		}},
		{name: "kubectl-shipjob run, no concurrency rules (maxActiveRuns 0)", agent: "kubectl-shipjob/", cmd: func(int) *exec.Cmd {
			return command(env, plugin, "run", "bench-free", "-n", ns)
		}},
		{name: "kubectl-shipjob run --idempotency-key (a new key each time)", agent: "kubectl-shipjob/", cmd: func(i int) *exec.Cmd {
			return command(env, plugin, "run", "bench", "-n", ns, "--idempotency-key", fmt.Sprintf("bench-%s-%d", ns, i))
		}},
		{name: "kubectl-shipjob run --idempotency-key (the run exists: unchanged)", agent: "kubectl-shipjob/", cmd: func(int) *exec.Cmd {
			return command(env, plugin, "run", "bench", "-n", ns, "--idempotency-key", "bench-"+ns+"-0")
		}},
	}
	if err := measure(c, ops, n, 3); err != nil {
		return err
	}
	printTable(ops, n)
	return nil
}

// measure runs every op n times after warmup rounds, alternating ops.
func measure(c *cluster.Cluster, ops []*op, n, warmup int) error {
	for i := -warmup; i < n; i++ {
		for _, o := range ops {
			before, err := lines(c.AuditLog)
			if err != nil {
				return err
			}
			start := time.Now()
			if out, err := o.cmd(i + warmup).CombinedOutput(); err != nil {
				return fmt.Errorf("%s: %w: %s", o.name, err, out)
			}
			wall := time.Since(start)
			time.Sleep(300 * time.Millisecond) // let the audit log flush
			reqs, err := countRequests(c.AuditLog, before, o.agent)
			if err != nil {
				return err
			}
			if i >= 0 {
				o.walls = append(o.walls, wall)
				o.reqs = append(o.reqs, reqs)
			}
		}
	}
	return nil
}

func printTable(ops []*op, n int) {
	peer := median(ops[0].walls)
	fmt.Printf("| operation | wall (median of %d) | vs first row | API requests (median, max) |\n|---|---|---|---|\n", n)
	for _, o := range ops {
		fmt.Printf("| %s | %.3f s | %.2f× | %d, %d |\n", o.name, median(o.walls).Seconds(),
			float64(median(o.walls))/float64(peer), medianInt(o.reqs), slices.Max(o.reqs))
	}
}

func command(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	return cmd
}

func lines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 16<<20)
	for s.Scan() {
		n++
	}
	return n, s.Err()
}

// countRequests counts completed requests after line skip whose user agent
// starts with agent.
func countRequests(path string, skip int, agent string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 16<<20)
	n, count := 0, 0
	for s.Scan() {
		n++
		if n <= skip {
			continue
		}
		var e struct {
			Stage     string `json:"stage"`
			UserAgent string `json:"userAgent"`
		}
		if json.Unmarshal(s.Bytes(), &e) == nil && e.Stage == "ResponseComplete" && strings.HasPrefix(e.UserAgent, agent) {
			count++
		}
	}
	return count, s.Err()
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianInt(d []int) int {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
