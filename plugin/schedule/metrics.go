package schedule

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of schedules, counted by the leader.
type Metrics struct {
	runs *prometheus.CounterVec
	lag  prometheus.Histogram
}

// NewMetrics makes the metrics (Collectors registers them).
func NewMetrics() *Metrics {
	return &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipjob_schedule_runs_total",
			Help: "Schedule slots by outcome: triggered (a run was created), skipped (refused by the job's concurrency rules), missed (not run: past the starting deadline, older than the most recent, or the trigger failed).",
		}, []string{"namespace", "job", "outcome"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "shipjob_schedule_lag_seconds",
			Help:    "From a slot's time to its run's Job created.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600},
		}),
	}
}

// Collectors are the metrics to register.
func (m *Metrics) Collectors() []prometheus.Collector { return []prometheus.Collector{m.runs, m.lag} }

func (m *Metrics) count(ns, job, outcome string, n int) {
	if m != nil {
		m.runs.WithLabelValues(ns, job, outcome).Add(float64(n))
	}
}

func (m *Metrics) lagged(d time.Duration) {
	if m != nil {
		m.lag.Observe(d.Seconds())
	}
}
