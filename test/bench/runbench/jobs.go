package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/test/bench/benchkit"
	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// jobs measures `list` over n job definitions (with one run each of a few
// of them) next to `kubectl get secrets` over the same Secrets, and reports
// the plugin's peak RSS (GNU time).
func jobs(c *cluster.Cluster, plugin string, n, reps int) error {
	ctx := context.Background()
	cs, err := c.Client()
	if err != nil {
		return err
	}
	ns := fmt.Sprintf("jobs-%d", time.Now().Unix())
	if err := c.CreateNamespace(ctx, ns); err != nil {
		return err
	}
	store := &jobdef.Store{Client: cs, Namespace: ns}
	sem := make(chan struct{}, 32)
	errs := make(chan error, n)
	start := time.Now()
	for i := range n {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			j := jobdef.New(ns, fmt.Sprintf("job-%05d", i))
			j.Spec.Image = "example.com/acme/app"
			j.Spec.Parameters = []jobdef.Parameter{{Name: "TARGET", Default: "latest"}}
			j.Spec.Description = "benchmark job"
			_, err := store.Create(ctx, j, jobdef.WriteOptions{})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			return fmt.Errorf("create job: %w", err)
		}
	}
	fmt.Fprintf(os.Stderr, "created %d jobs in %s\n", n, time.Since(start).Round(time.Second))
	env := append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	for i := range 3 { // a few runs, so LAST RUN/STATUS are computed for real
		name := fmt.Sprintf("job-%05d", i)
		if out, err := benchkit.Command(env, plugin, "run", name, "-n", ns).CombinedOutput(); err != nil {
			return fmt.Errorf("run %s: %w: %s", name, err, out)
		}
	}
	ops := []*benchkit.Op{
		{Name: "kubectl get secrets -l shipjob.dev/kind=job", Agent: "kubectl/", Cmd: func(int) *exec.Cmd {
			return benchkit.Command(env, "kubectl", "get", "secrets", "-n", ns, "-l", "shipjob.dev/kind=job")
		}},
		{Name: fmt.Sprintf("kubectl-shipjob list (%d jobs)", n), Agent: "kubectl-shipjob/", Cmd: func(int) *exec.Cmd {
			return benchkit.Command(env, plugin, "list", "-n", ns)
		}},
	}
	if err := benchkit.Measure(c.AuditLog, ops, reps, 1); err != nil {
		return err
	}
	benchkit.PrintTable(ops, reps)
	out, err := benchkit.Command(env, "/usr/bin/time", "-f", "%M", plugin, "list", "-n", ns).CombinedOutput()
	if err != nil {
		return fmt.Errorf("time list: %w: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	fmt.Printf("\npeak RSS of `kubectl-shipjob list` over %d jobs: %s KiB\n", n, lines[len(lines)-1])
	return nil
}
