package hookserver

import (
	"context"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/klog/v2"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"github.com/shipjob/kubectl-shipjob/plugin/runend"
	"github.com/shipjob/kubectl-shipjob/plugin/schedule"
)

// Config is the whole hook server, what `kubectl shipjob hook serve` maps
// its flags to: the HTTP API, its listener, the trigger and, unless
// RunEnds is nil, the processing of run ends under a Lease.
type Config struct {
	// API is the HTTP API: its Client, served Namespace ("" all, else
	// comma-separated), Log and limits. Run sets its Triggerer and adds the
	// trigger's and the run ends' metrics to its Collectors.
	API ServerConfig
	// Serve is the listener, TLS and shutdown (Run sets Listening).
	Serve ServeOptions
	// NewEngine makes the trigger from Engine, the CLI's engine
	// configuration (client, Helm's getter, clock, environment defaults).
	// Run adds the server's: the wait for other triggers of a job may take
	// the whole API.TriggerTimeout, Helm history is pruned by name, and
	// prune failures are logged and counted.
	NewEngine run.NewEngine
	Engine    run.EngineConfig
	// RunEnds, if set, is the leader's work in one replica: run ends (TTL
	// by outcome, Events, metrics, notifications) and schedules, either of
	// which it may turn off.
	RunEnds *RunEndsConfig
	// Getenv reads the pod's environment (nil: os.Getenv): POD_NAME,
	// POD_NAMESPACE and KUBERNETES_SERVICE_HOST.
	Getenv func(string) string
}

// Run serves until ctx ends (SIGINT/SIGTERM), then shuts down as Serve
// does. With RunEnds, the run-end processing starts once the listener is
// open (only a server that could start takes part in the election) and Run
// returns when it has stopped.
func Run(ctx context.Context, cfg Config) error {
	if cfg.API.Log == nil {
		cfg.API.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	log := cfg.API.Log
	pruneFailures := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shipjob_hooks_prune_failures_total",
		Help: "Old Helm release records a trigger could not delete, by namespace and job (the history grows until a later trigger can).",
	}, []string{"namespace", "job"})
	// The very trigger of `kubectl shipjob run`.
	ec := cfg.Engine
	// The trigger's whole budget may go to waiting for other triggers of
	// its job (the lock wait was capped at 2 minutes before).
	ec.LockTimeout = cfg.API.TriggerTimeout
	// The chart's Role grants delete, not deletecollection.
	ec.PruneByName = true
	ec.OnPruneFailure = func(ns, job string, failed int, err error) {
		log.Warn("pruning Helm history failed", "namespace", ns, "job", job, "records", failed, "err", err.Error())
		pruneFailures.WithLabelValues(ns, job).Add(float64(failed))
	}
	cfg.API.Triggerer = cfg.NewEngine(ec)
	cfg.API.Collectors = append(cfg.API.Collectors, pruneFailures)
	if cfg.RunEnds == nil {
		return Serve(ctx, cfg.API, cfg.Serve)
	}
	metrics, schedMetrics := runend.NewMetrics(), schedule.NewMetrics()
	cfg.API.Collectors = append(append(cfg.API.Collectors, metrics.Collectors()...), schedMetrics.Collectors()...)
	lead := runEnds(ctx, cfg, metrics, schedule.Config{Trigger: cfg.API.Triggerer.Trigger, Metrics: schedMetrics})
	// client-go's leader election logs through klog: as JSON lines too.
	klog.SetSlogLogger(log)
	ended := make(chan error, 1)
	started := false
	cfg.Serve.Listening = func() { started = true; go func() { ended <- lead(ctx) }() }
	err := Serve(ctx, cfg.API, cfg.Serve)
	if err != nil || !started {
		return err // ctx is not done: the process exits, and the Lease expires
	}
	return <-ended
}
