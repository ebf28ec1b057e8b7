package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
)

// report prints the soak's results as Markdown on stdout.
func report(o options, s *sampler, d *driver, rc *receiver, srv *server, reqs requests) error {
	ends, createErr, endErr, lastErr := d.snapshot()
	arrivals, bad := rc.snapshot()
	var lat, write []time.Duration
	lost, dupRuns, dupExtra, wrongOutcome := 0, 0, 0, 0
	for k, e := range ends {
		write = append(write, e.done.Sub(e.sent))
		as := arrivals[k]
		if len(as) == 0 {
			lost++
			continue
		}
		lat = append(lat, as[0].at.Sub(e.sent))
		if len(as) > 1 {
			dupRuns++
			dupExtra += len(as) - 1
		}
		if as[0].outcome != e.outcome {
			wrongOutcome++
		}
	}
	unexpected := 0
	for k, as := range arrivals {
		if _, ok := ends[k]; !ok {
			unexpected += len(as)
		}
	}
	first, last := s.rows[0], s.rows[len(s.rows)-1]
	driven := s.rows[:len(s.rows)-1] // up to "end"
	fmt.Printf("\n## Soak: %d namespaces, %d pre-filled runs, %.0f run ends/s for %s\n\n", o.namespaces, o.runs, o.rate, o.duration)
	fmt.Printf("`%s`, %s–%s UTC, hooks serve %s (pid %d).\n\n", strings.Join(os.Args, " "),
		time.Now().Add(-last.at).UTC().Format("2006-01-02 15:04"), time.Now().UTC().Format("15:04"), serveMode(o), srv.cmd.Process.Pid)
	fmt.Println("| min | load (1/5/15) | RSS MiB | VmHWM MiB | goroutines | heap in use MiB | run ends | notified | p50 s | p99 s | max s | not notified yet | Jobs in the cluster | cores: machine / kube-apiserver / etcd / hooks serve / soak |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range s.rows {
		at := fmt.Sprintf("%.1f", r.at.Minutes())
		if o.sample >= time.Minute {
			at = fmt.Sprintf("%.0f", r.at.Minutes())
		}
		if r.label != "" {
			at += " (" + r.label + ")"
		}
		fmt.Printf("| %s | %s | %.0f | %.0f | %.0f | %.0f | %d | %d | %.2f | %.2f | %.2f | %d | %d | %s |\n", at, r.load,
			float64(r.rssKiB)/1024, float64(r.hwmKiB)/1024, r.goroutines, r.heap/(1<<20), r.ends, r.notified,
			r.p50.Seconds(), r.p99.Seconds(), r.max.Seconds(), r.backlog, r.jobs, r.coresCell())
	}
	rate := float64(len(ends)) / o.duration.Seconds()
	fmt.Printf("\n- Run ends: **%d** in %s = **%.1f/s** (target %.0f/s); create errors %d, status write errors %d",
		len(ends), o.duration, rate, o.rate, createErr, endErr)
	if lastErr != nil {
		fmt.Printf(" (last: %v)", lastErr)
	}
	fmt.Printf(".\n- End → notification (from sending the final status; the write itself took p50 %.3f s, p99 %.3f s): "+
		"**p50 %.2f s, p90 %.2f s, p99 %.2f s, max %.2f s** over %d notified runs (target p99 ≤ 5 s).\n",
		pct(write, 50).Seconds(), pct(write, 99).Seconds(), pct(lat, 50).Seconds(), pct(lat, 90).Seconds(),
		pct(lat, 99).Seconds(), pct(lat, 100).Seconds(), len(lat))
	fmt.Printf("- Notifications: **%d lost** (ended, never notified within %s after the last end), **%d duplicated** runs (%d extra requests), "+
		"%d for runs this tool did not end, %d with another outcome, %d unreadable.\n", lost, o.drain, dupRuns, dupExtra, unexpected, wrongOutcome, bad)
	fmt.Printf("- Server memory: RSS %.0f MiB at the start, %s while driving, %.0f MiB at the end; VmHWM %.0f MiB (target ≤ 256 MiB). "+
		"Goroutines %s.\n", float64(first.rssKiB)/1024, spread(driven, func(r row) float64 { return float64(r.rssKiB) / 1024 }),
		float64(last.rssKiB)/1024, float64(last.hwmKiB)/1024, spread(driven, func(r row) float64 { return r.goroutines }))
	d.mu.Lock()
	deleted := d.deleted
	d.mu.Unlock()
	fmt.Printf("- Jobs in the cluster: %d at the start, %d at the end; %d driven runs deleted by this tool 5 s after their notification "+
		"(-delete-notified=%t), the others left to their TTL (the job's retention, %s, set at creation as a trigger does).\n",
		first.jobs, last.jobs, deleted, o.deleteNotified, o.retention)
	mean := map[string]float64{}
	for _, r := range driven[1:] {
		for n, v := range r.cores {
			mean[n] += v / float64(len(driven)-1)
		}
	}
	fmt.Printf("- Cores used while driving (mean of the rows): %s; hooks serve %.1f ms of CPU per run end.\n",
		s.cpu.text(mean), 1000*mean["hooks serve"]*o.duration.Seconds()/float64(max(len(ends), 1)))
	levels, warns := srv.logCounts()
	fmt.Printf("- Server log (%s): %v lines by level", srv.logPath, levels)
	for _, m := range slices.Sorted(maps.Keys(warns)) {
		fmt.Printf("; %q × %d", m, warns[m])
	}
	fmt.Println(".")
	if len(reqs.count) > 0 {
		total := 0
		var all []time.Duration
		for k, n := range reqs.count {
			total += n
			all = append(all, reqs.took[k]...)
		}
		fmt.Printf("- API requests of hooks serve while driving: %d (%.1f per run end); the API server took p50 %.0f ms, p99 %.0f ms each "+
			"(audit log, watches left out):", total, float64(total)/float64(max(len(ends), 1)), ms(pct(all, 50)), ms(pct(all, 99)))
		for _, k := range slices.SortedFunc(maps.Keys(reqs.count), func(a, b string) int { return reqs.count[b] - reqs.count[a] }) {
			fmt.Printf(" %s %d", k, reqs.count[k])
			if t := reqs.took[k]; len(t) > 0 {
				fmt.Printf(" (p50 %.0f ms, p99 %.0f ms)", ms(pct(t, 50)), ms(pct(t, 99)))
			}
			fmt.Print(";")
		}
		fmt.Println()
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func serveMode(o options) string {
	if o.allNS {
		return "-A"
	}
	return fmt.Sprintf("--namespaces (%d)", o.namespaces)
}

// spread is "min–max (first → last, slope X per 10 min)" of f over rows
// after the first (the one before driving).
func spread(rows []row, f func(row) float64) string {
	if len(rows) < 2 {
		return "n/a"
	}
	rows = rows[1:]
	lo, hi := f(rows[0]), f(rows[0])
	var sx, sy, sxx, sxy float64
	for _, r := range rows {
		v := f(r)
		lo, hi = min(lo, v), max(hi, v)
		x := r.at.Minutes()
		sx, sy, sxx, sxy = sx+x, sy+v, sxx+x*x, sxy+x*v
	}
	n := float64(len(rows))
	slope := 0.0
	if den := n*sxx - sx*sx; den != 0 {
		slope = (n*sxy - sx*sy) / den
	}
	return fmt.Sprintf("%.0f–%.0f (first %.0f → last %.0f, least-squares slope %+.1f per 10 min)",
		lo, hi, f(rows[0]), f(rows[len(rows)-1]), 10*slope)
}

// pct is the p-th percentile of d (nearest rank; 100: the maximum).
func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// requests are the API requests of hooks serve while driving, by verb and
// resource: how many, and how long the API server took for each (from the
// audit log's timestamps; watches left out).
type requests struct {
	count map[string]int
	took  map[string][]time.Duration
}

// countServerRequests reads the completed API requests of hooks serve
// (user agent "… hooks-serve") in the audit log between two offsets.
func countServerRequests(path string, from, to int64) (requests, error) {
	out := requests{count: map[string]int{}, took: map[string][]time.Duration{}}
	f, err := os.Open(path)
	if err != nil {
		return out, err
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return out, err
	}
	sc := bufio.NewScanner(io.LimitReader(f, to-from))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		b := sc.Bytes()
		if !bytes.Contains(b, []byte("hooks-serve")) {
			continue
		}
		var e struct {
			Stage, Verb, UserAgent string
			ObjectRef              struct{ Resource, Subresource string }
			RequestURI             string
			Received               time.Time `json:"requestReceivedTimestamp"`
			Completed              time.Time `json:"stageTimestamp"`
		}
		if json.Unmarshal(b, &e) != nil || e.Stage != "ResponseComplete" || !strings.HasSuffix(e.UserAgent, "hooks-serve") {
			continue
		}
		k := e.Verb + " " + e.ObjectRef.Resource
		if e.ObjectRef.Resource == "" {
			k += strings.SplitN(e.RequestURI, "?", 2)[0]
		}
		if e.ObjectRef.Subresource != "" {
			k += "/" + e.ObjectRef.Subresource
		}
		out.count[k]++
		if e.Verb != "watch" {
			out.took[k] = append(out.took[k], e.Completed.Sub(e.Received))
		}
	}
	return out, sc.Err()
}
