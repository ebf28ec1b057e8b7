package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/bench/benchkit"
)

// printReport prints the phases as Markdown: the table with the ratio of
// each round, the API requests per trigger and per raw create, and the
// profile summaries.
func printReport(w io.Writer, cfg config, wd *world, phases []*phase, prof *profiles) {
	fmt.Fprintf(w, "%d clients × %d jobs, phases of %s, namespace %s; load = 1-minute load average at the start → end of the phase\n\n",
		cfg.clients, len(wd.jobs), cfg.duration, wd.ns)
	fmt.Fprintln(w, "| phase | load | ok/s | p50 | p90 | p99 | max | errors | CPU ms per request: hooks serve (2) / kube-apiserver / etcd / controllers, KWOK / bench client | machine busy |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---|---|---:|")
	for _, p := range phases {
		fmt.Fprintf(w, "| %s | %s→%s | %.1f | %s | %s | %s | %s | %s | %s / %s / %s / %s / %s | %.0f %% |\n", p.name, p.loadStart, p.loadEnd, p.rate(),
			ms(p.percentile(50)), ms(p.percentile(90)), ms(p.percentile(99)), ms(p.percentile(100)), p.errorText(),
			p.cpuPer("hooks serve"), p.cpuPer("kube-apiserver"), p.cpuPer("etcd"), p.cpuPer("controllers"), p.cpuPer("bench client"), p.busy*100)
	}
	fmt.Fprintln(w)
	var ratios []float64
	for i := 0; i+1 < len(phases); i++ {
		a, b := phases[i], phases[i+1]
		if a.kind == kindTrigger && b.kind == kindRaw && b.rate() > 0 {
			ratios = append(ratios, a.rate()/b.rate())
			fmt.Fprintf(w, "- %s ÷ %s: %.1f ÷ %.1f = **%.2f×**\n", a.name, b.name, a.rate(), b.rate(), a.rate()/b.rate())
		}
	}
	if len(ratios) > 1 {
		var tr, rr float64
		for _, p := range phases {
			if p.kind == kindRaw {
				rr += p.rate()
			} else if !p.profiling {
				tr += p.rate()
			}
		}
		fmt.Fprintf(w, "- all rounds: mean triggers/s ÷ mean raw creates/s = **%.2f×**\n", tr/rr)
	}
	fmt.Fprintln(w)
	for _, p := range phases {
		printRequests(w, p)
	}
	if prof == nil {
		return
	}
	fmt.Fprintf(w, "Profiles of one replica, a %s window of the last phase: %s, %s, %s\n\n", prof.window, prof.files["cpu"], prof.files["block"], prof.files["mutex"])
	for _, t := range prof.tops {
		fmt.Fprintf(w, "%s:\n\n```\n%s\n```\n\n", t.title, t.text)
	}
}

// printRequests prints the API requests of a phase's clients per
// successful request, with the API server's own time for them (audit log:
// received → response complete).
func printRequests(w io.Writer, p *phase) {
	if p.ok == 0 || len(p.requests) == 0 {
		return
	}
	var total float64
	var serverTime time.Duration
	kinds := slices.SortedFunc(maps.Values(p.requests), func(a, b *benchkit.Request) int { return len(b.Latency) - len(a.Latency) })
	fmt.Fprintf(w, "%s, API requests per successful request (audit log):\n\n| request | per request | codes | API server p50 / p99 |\n|---|---:|---|---:|\n", p.name)
	for _, r := range kinds {
		slices.Sort(r.Latency)
		per := float64(len(r.Latency)) / float64(p.ok)
		total += per
		for _, l := range r.Latency {
			serverTime += l
		}
		fmt.Fprintf(w, "| %s | %.2f | %v | %s / %s |\n", r.Kind, per, r.Codes, ms(percentile(r.Latency, 50)), ms(percentile(r.Latency, 99)))
	}
	fmt.Fprintf(w, "| **total** | **%.2f** | | API server time %.1f ms per request |\n\n", total,
		float64(serverTime)/float64(time.Millisecond)/float64(p.ok))
	all := 0
	for _, n := range p.agents {
		all += n
	}
	fmt.Fprintf(w, "Every client's API requests in the phase, per successful request: %.1f (", float64(all)/float64(p.ok))
	for i, a := range slices.SortedFunc(maps.Keys(p.agents), func(a, b string) int { return p.agents[b] - p.agents[a] }) {
		if i > 0 {
			fmt.Fprint(w, ", ")
		}
		fmt.Fprintf(w, "%s %.1f", a, float64(p.agents[a])/float64(p.ok))
	}
	fmt.Fprint(w, ")\n\n")
}
