// Command hookload measures the deploy hook server's trigger throughput
// against raw batch/v1 Job creates (issue 23, "Hot path"): the same clients
// POST hook triggers to two `hooks serve` replicas, then POST Jobs straight
// to the API server, in alternating phases of one run, so that drift of a
// shared machine shows. Each phase reports requests/s, latency
// percentiles, errors by status, CPU of the servers and the API requests
// the hook servers made (from the API server's audit log). With -profile
// a last trigger phase runs on a profiling build (`-tags profile`) and
// takes a CPU and a block profile of one replica.
//
//	make cluster-up && make build
//	go run ./test/bench/hookload -state .cache/cluster-state -plugin bin/kubectl-shipjob
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/bench/benchkit"
	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

type config struct {
	state, plugin string
	clients       int
	duration      time.Duration
	rounds        int
	profile       bool
	keep          bool
	out           string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.state, "state", ".cache/cluster-state", "state dir of a cluster started by make cluster-up")
	flag.StringVar(&cfg.plugin, "plugin", "bin/kubectl-shipjob", "kubectl-shipjob binary under test (the measured phases)")
	flag.IntVar(&cfg.clients, "clients", 10, "concurrent clients, each with a job and deploy hook of its own")
	flag.DurationVar(&cfg.duration, "duration", 20*time.Second, "length of each phase")
	flag.IntVar(&cfg.rounds, "rounds", 2, "rounds of (triggers, raw creates)")
	flag.BoolVar(&cfg.profile, "profile", true, "a last trigger phase on a profiling build: CPU and block profiles of one replica")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the namespace (jobs, hooks, release records) at the end")
	flag.StringVar(&cfg.out, "out", "", "directory for server logs and profiles (default: a new temporary one)")
	flag.Parse()
	if err := bench(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "hookload:", err)
		os.Exit(1)
	}
}

func bench(cfg config) error {
	ctx := context.Background()
	c, plugin, err := benchkit.Running(cfg.state, cfg.plugin)
	if err != nil {
		return err
	}
	if cfg.out == "" {
		if cfg.out, err = os.MkdirTemp("", "hookload-"); err != nil {
			return err
		}
	}
	if cfg.out, err = filepath.Abs(cfg.out); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return err
	}
	w, err := newWorld(ctx, c, plugin, cfg.clients)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "namespace %s, %d jobs with a deploy hook each; logs and profiles in %s\n", w.ns, cfg.clients, cfg.out)

	servers, err := startReplicas(w, plugin, cfg.out, "measured", "")
	if err != nil {
		return err
	}
	defer stopReplicas(servers)
	if err := w.warmUp(servers); err != nil {
		return err
	}
	tmpl, err := w.rawTemplate(ctx)
	if err != nil {
		return err
	}
	raw, err := newRawClient(c)
	if err != nil {
		return err
	}
	var phases []*phase
	for r := 1; r <= cfg.rounds; r++ {
		for _, kind := range []string{kindTrigger, kindRaw} {
			if err := w.clean(ctx); err != nil {
				return err
			}
			p := &phase{name: fmt.Sprintf("%s %d", kind, r), kind: kind, replicas: servers}
			err := p.measure(c, func(deadline time.Time) []sample {
				if kind == kindTrigger {
					return w.triggers(servers, deadline)
				}
				return w.rawCreates(ctx, raw, tmpl, fmt.Sprintf("r%d", r), deadline)
			}, cfg.duration)
			if err != nil {
				return err
			}
			phases = append(phases, p)
			p.printLine(os.Stderr)
		}
	}
	stopReplicas(servers)
	var prof *profiles
	if cfg.profile {
		p, pr, err := profilePhase(ctx, c, w, cfg)
		if err != nil {
			return err
		}
		phases = append(phases, p)
		p.printLine(os.Stderr)
		prof = pr
	}
	if err := w.clean(ctx); err != nil {
		return err
	}
	printReport(os.Stdout, cfg, w, phases, prof)
	if !cfg.keep {
		return w.cs.CoreV1().Namespaces().Delete(ctx, w.ns, metav1.DeleteOptions{})
	}
	return nil
}

// profilePhase restarts the two replicas from a profiling build (replica 0
// serving pprof), runs one trigger phase and profiles replica 0 during it.
func profilePhase(ctx context.Context, c *cluster.Cluster, w *world, cfg config) (*phase, *profiles, error) {
	bin := filepath.Join(cfg.out, "kubectl-shipjob.profile")
	if err := buildProfiling(bin); err != nil {
		return nil, nil, err
	}
	addr, err := freeLoopback()
	if err != nil {
		return nil, nil, err
	}
	servers, err := startReplicas(w, bin, cfg.out, "profile", addr)
	if err != nil {
		return nil, nil, err
	}
	defer stopReplicas(servers)
	if err := w.warmUp(servers); err != nil {
		return nil, nil, err
	}
	if err := w.clean(ctx); err != nil {
		return nil, nil, err
	}
	p := &phase{name: kindTrigger + " (profiling build)", kind: kindTrigger, replicas: servers, profiling: true}
	grab := startProfiles(addr, cfg.out, cfg.duration)
	if err := p.measure(c, func(deadline time.Time) []sample { return w.triggers(servers, deadline) }, cfg.duration); err != nil {
		return nil, nil, err
	}
	prof, err := grab()
	return p, prof, err
}
