package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
)

// sampler takes the per-minute rows: the server's memory and goroutines,
// the machine's load, and the run ends and notifications since the last
// row.
type sampler struct {
	srv   *server
	rc    *receiver
	d     *driver
	cs    kubernetes.Interface
	cpu   *cpuWatch
	start time.Time
	last  time.Time
	rows  []row
}

// row is one sample.
type row struct {
	label            string
	when             time.Time
	at               time.Duration // since the first sample
	load             string        // 1, 5 and 15 minute load averages
	rssKiB, hwmKiB   int
	goroutines, heap float64 // heap in use, bytes
	ends, notified   int     // in the window since the last row
	p50, p99, max    time.Duration
	backlog          int // ended, not notified yet
	jobs             int // Jobs in the cluster
	cores            map[string]float64
}

func (s *sampler) sample(ctx context.Context, label string) {
	now := time.Now()
	if s.start.IsZero() {
		s.start, s.last = now, now
	}
	r := row{label: label, when: now, at: now.Sub(s.start), load: loadavg(), jobs: jobsTotal(ctx, s.cs), cores: s.cpu.sample()}
	if p, err := s.srv.proc(); err == nil {
		r.rssKiB, r.hwmKiB = p.rss, p.hwm
	}
	if m, err := s.srv.metrics("go_goroutines", "go_memstats_heap_inuse_bytes"); err == nil {
		r.goroutines, r.heap = m["go_goroutines"], m["go_memstats_heap_inuse_bytes"]
	} else {
		r.goroutines = -1
	}
	ends, _, _, _ := s.d.snapshot()
	var lat []time.Duration
	for k, e := range ends {
		if !e.sent.Before(s.last) && e.sent.Before(now) {
			r.ends++
		}
		a, n := s.rc.first(k)
		switch {
		case n == 0:
			r.backlog++
		case !a.at.Before(s.last) && a.at.Before(now):
			r.notified++
			lat = append(lat, a.at.Sub(e.sent))
		}
	}
	r.p50, r.p99, r.max = pct(lat, 50), pct(lat, 99), pct(lat, 100)
	s.last = now
	s.rows = append(s.rows, r)
	if len(s.rows) == 1 {
		fmt.Fprintln(os.Stderr, rowHeader)
	}
	fmt.Fprintln(os.Stderr, r.text())
	fmt.Fprintln(os.Stderr, "         cores used:", s.cpu.text(r.cores))
}

// coresCell is the cores the machine, kube-apiserver, etcd, the server and
// this tool used.
func (r row) coresCell() string {
	var parts []string
	for _, n := range []string{"machine", "kube-apiserver", "etcd", "hooks serve", "soak"} {
		parts = append(parts, fmt.Sprintf("%.2f", r.cores[n]))
	}
	return strings.Join(parts, " / ")
}

const rowHeader = "    time   min  load (1/5/15)     RSS MiB  HWM MiB  goroutines  heap MiB   ends/min  notified  p50 s   p99 s   max s  backlog  jobs"

func (r row) text() string {
	return fmt.Sprintf("%s %5.1f  %-16s %8.1f %8.1f %11.0f %9.1f %10d %9d %6.2f %7.2f %7.2f %8d %6d",
		r.when.UTC().Format("15:04:05"), r.at.Minutes(), r.load, float64(r.rssKiB)/1024, float64(r.hwmKiB)/1024,
		r.goroutines, r.heap/(1<<20), r.ends, r.notified, r.p50.Seconds(), r.p99.Seconds(), r.max.Seconds(), r.backlog, r.jobs)
}

// loadavg is the machine's 1, 5 and 15 minute load averages.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], "/")
}
