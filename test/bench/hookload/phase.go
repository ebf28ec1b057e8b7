package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/bench/benchkit"
	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// phase is one measured stretch of load: triggers or raw creates.
type phase struct {
	name, kind string
	replicas   []*replica
	profiling  bool // the replicas are a profiling build

	began     time.Time
	elapsed   time.Duration
	loadStart string
	loadEnd   string
	ok        int
	latency   []time.Duration // of the successful requests, sorted
	errors    map[string]int  // "status: first message" → count
	cpu       map[string]float64
	busy      float64 // the machine's CPU use, fraction of all cores
	requests  map[string]*benchkit.Request
	agents    map[string]int // every client's requests
}

// measure runs load until duration has passed and records what the
// machine, the hook servers and the control plane did meanwhile.
func (p *phase) measure(c *cluster.Cluster, load func(deadline time.Time) []sample, duration time.Duration) error {
	skip, err := benchkit.AuditLines(c.AuditLog)
	if err != nil {
		return err
	}
	pids, replica := map[string]int{}, map[string]bool{}
	for _, r := range p.replicas {
		pids[r.name], replica[r.name] = r.cmd.Process.Pid, true
	}
	for _, proc := range c.Processes {
		pids[proc.Name] = proc.PID
	}
	pids["bench client"] = os.Getpid()
	cpu0 := map[string]float64{}
	for name, pid := range pids {
		cpu0[name] = cpuSeconds(pid)
	}
	busy0, total0 := machineCPU()
	p.loadStart = loadAvg()
	p.began = time.Now()
	samples := load(p.began.Add(duration))
	p.elapsed = time.Since(p.began)
	p.loadEnd = loadAvg()
	busy1, total1 := machineCPU()
	p.busy = (busy1 - busy0) / math.Max(total1-total0, 1)
	p.cpu = map[string]float64{}
	for name, pid := range pids {
		key := name
		switch {
		case replica[name]:
			key = "hooks serve" // both replicas together
		case name == "kube-controller-manager" || name == "kube-scheduler" || name == "kwok":
			key = "controllers" // the Jobs' pods and their ends
		}
		p.cpu[key] += cpuSeconds(pid) - cpu0[name]
	}
	p.errors = map[string]int{}
	for _, s := range samples {
		if s.code >= 200 && s.code < 300 {
			p.ok++
			p.latency = append(p.latency, s.latency)
			continue
		}
		msg := s.err
		if len(msg) > 80 {
			msg = msg[:80] + "…"
		}
		p.errors[fmt.Sprintf("%d %s", s.code, msg)]++
	}
	slices.Sort(p.latency)
	time.Sleep(time.Second) // the audit log is written asynchronously
	agent := "kubectl-shipjob/"
	if p.kind == kindRaw {
		agent = rawAgent
	}
	if p.requests, err = benchkit.AuditRequests(c.AuditLog, skip, agent); err != nil {
		return err
	}
	p.agents, err = benchkit.AuditAgents(c.AuditLog, skip)
	return err
}

func (p *phase) rate() float64 { return float64(p.ok) / p.elapsed.Seconds() }

// percentile of the sorted successful latencies (nearest rank).
func (p *phase) percentile(q float64) time.Duration {
	return percentile(p.latency, q)
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q/100*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

// cpuPer is a process's CPU time per successful request, in ms.
func (p *phase) cpuPer(name string) string {
	if p.ok == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f", p.cpu[name]*1000/float64(p.ok))
}

func (p *phase) errorText() string {
	if len(p.errors) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(p.errors)) {
		parts = append(parts, fmt.Sprintf("%d × %s", p.errors[k], k))
	}
	return strings.Join(parts, "; ")
}

// printLine is the phase's progress line.
func (p *phase) printLine(w io.Writer) {
	fmt.Fprintf(w, "%s: %d ok in %.1f s = %.1f/s, p50 %s p90 %s p99 %s, errors %s, load %s→%s\n",
		p.name, p.ok, p.elapsed.Seconds(), p.rate(), ms(p.percentile(50)), ms(p.percentile(90)), ms(p.percentile(99)),
		p.errorText(), p.loadStart, p.loadEnd)
}
