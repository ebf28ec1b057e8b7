// Command soak holds the run-end leader of one `hooks serve` under a steady
// stream of run ends for a long time (issue 23, "Scale"): N namespaces,
// each with a job whose runs notify a webhook receiver this tool runs, a
// world of already processed runs pre-filled across them, and run ends at
// a fixed rate spread over the namespaces. It reports end → notification
// latency (p50/p90/p99/max), lost and duplicated notifications, and the
// server's RSS and goroutines sampled every minute.
//
// Runs are fabricated as scale does: Jobs with our labels and annotations,
// spec.managedBy set to a foreign value so the Job controller leaves them
// alone, and their status (Complete or Failed, completionTime) written by
// this tool as the Job controller would. A driven run is deleted once its
// notification arrived (-delete-notified); the job's retention (-retention)
// is its TTL, which removes those never notified, so the total stays near
// -runs plus the leader's backlog.
//
//	make cluster-up && make build
//	go run ./test/bench/soak -state .cache/cluster-state -plugin bin/kubectl-shipjob -duration 30m
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

// options are the flags.
type options struct {
	state, plugin string
	namespaces    int
	runs          int
	rate          float64
	duration      time.Duration
	sample        time.Duration
	runFor        time.Duration
	drain         time.Duration
	retention     string
	failed        float64
	allNS         bool
	serverLog     string
	audit         bool
	// deleteNotified deletes driven runs once notified.
	deleteNotified bool
}

func main() {
	var o options
	flag.StringVar(&o.state, "state", ".cache/cluster-state", "state dir of a cluster started by make cluster-up")
	flag.StringVar(&o.plugin, "plugin", "bin/kubectl-shipjob", "kubectl-shipjob binary under test")
	flag.IntVar(&o.namespaces, "namespaces", 100, "namespaces, one job with a webhook notification each")
	flag.IntVar(&o.runs, "runs", 50000, "processed finished runs pre-filled across the namespaces")
	flag.Float64Var(&o.rate, "rate", 50, "run ends per second, spread over the namespaces")
	flag.DurationVar(&o.duration, "duration", 30*time.Minute, "how long run ends are driven")
	flag.DurationVar(&o.sample, "sample", time.Minute, "how often the server's RSS and goroutines are sampled")
	flag.DurationVar(&o.runFor, "run-for", 2*time.Second, "how long a driven run is active before it ends")
	flag.DurationVar(&o.drain, "drain", 2*time.Minute, "longest wait after the last end for notifications still due")
	flag.StringVar(&o.retention, "retention", "1m", "the jobs' retention: the TTL the leader sets on a driven run when it ends")
	flag.Float64Var(&o.failed, "failed", 0.1, "fraction of driven runs that fail")
	flag.BoolVar(&o.allNS, "all-namespaces", false, "serve every namespace (-A) instead of --namespaces with the list")
	flag.StringVar(&o.serverLog, "server-log", "", "file for the server's log (default: a temp file, named in the output)")
	flag.BoolVar(&o.audit, "audit", true, "count the server's API requests while driving, from the audit log")
	flag.BoolVar(&o.deleteNotified, "delete-notified", true, "delete a driven run 5s after its notification arrived (the TTL the leader sets removes the others)")
	flag.Parse()
	if o.namespaces < 1 || o.rate <= 0 || o.duration <= 0 || o.sample <= 0 {
		fmt.Fprintln(os.Stderr, "soak: -namespaces, -rate, -duration and -sample must be positive")
		os.Exit(2)
	}
	if err := soak(o); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// logf prints a progress line with the time (UTC) on stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
}
