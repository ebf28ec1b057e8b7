// Package benchkit is what the side-by-side benchmarks share: commands run
// in alternation, their wall times and the API requests each made, counted
// in the local cluster's audit log.
package benchkit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// Op is one measured operation.
type Op struct {
	Name  string
	Agent string // user agent prefix of its API requests
	Cmd   func(i int) *exec.Cmd
	walls []time.Duration
	reqs  []int
}

// Measure runs every op n times after warmup rounds, alternating ops, and
// counts each run's requests in the API server's audit log.
func Measure(auditLog string, ops []*Op, n, warmup int) error {
	for i := -warmup; i < n; i++ {
		for _, o := range ops {
			before, err := lines(auditLog)
			if err != nil {
				return err
			}
			start := time.Now()
			if out, err := o.Cmd(i + warmup).CombinedOutput(); err != nil {
				return fmt.Errorf("%s: %w: %s", o.Name, err, out)
			}
			wall := time.Since(start)
			time.Sleep(300 * time.Millisecond) // let the audit log flush
			reqs, err := countRequests(auditLog, before, o.Agent)
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

// PrintTable prints the measured ops as a Markdown table, each row's
// median wall time also as a ratio to the first row's.
func PrintTable(ops []*Op, n int) {
	peer := Median(ops[0].walls)
	fmt.Printf("| operation | wall (median of %d) | vs first row | API requests (median, max) |\n|---|---|---|---|\n", n)
	for _, o := range ops {
		fmt.Printf("| %s | %.3f s | %.2f× | %d, %d |\n", o.Name, Median(o.walls).Seconds(),
			float64(Median(o.walls))/float64(peer), Median(o.reqs), slices.Max(o.reqs))
	}
}

// Command is args as a command with the environment env.
func Command(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	return cmd
}

// Median is the middle value of d (the upper one of an even count).
func Median[T time.Duration | int](d []T) T {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
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
	count := 0
	err := auditLines(path, skip, func(line []byte) {
		var e struct {
			Stage     string `json:"stage"`
			UserAgent string `json:"userAgent"`
		}
		if json.Unmarshal(line, &e) == nil && e.Stage == "ResponseComplete" && strings.HasPrefix(e.UserAgent, agent) {
			count++
		}
	})
	return count, err
}

// Running is the local cluster started by `make cluster-up` with its state
// in state, and plugin as an absolute path (the benchmarks run commands
// from other directories).
func Running(state, plugin string) (*cluster.Cluster, string, error) {
	dir, err := os.ReadFile(filepath.Join(state, "current"))
	if err != nil {
		return nil, "", fmt.Errorf("no running local cluster (make cluster-up): %w", err)
	}
	c, err := cluster.Load(strings.TrimSpace(string(dir)))
	if err != nil {
		return nil, "", err
	}
	if plugin, err = filepath.Abs(plugin); err != nil {
		return nil, "", err
	}
	return c, plugin, nil
}
