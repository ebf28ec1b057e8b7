package runend

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/notify"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// Metrics of run ends and notifications, counted by the leader.
type Metrics struct {
	finishedTotal *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	lastOutcome   *prometheus.GaugeVec
	notifications *prometheus.CounterVec
	attempts      *prometheus.CounterVec
	missed        *prometheus.CounterVec
	Leader        prometheus.Gauge

	mu   sync.Mutex
	seen map[[2]string]time.Time // namespace/job → when its last counted run finished
}

// NewMetrics makes the metrics (Collectors registers them).
func NewMetrics() *Metrics {
	m := &Metrics{
		finishedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipjob_runs_finished_total",
			Help: "Runs that ended, by namespace, job and outcome (succeeded, failed, cancelled); counted by the leading hook server.",
		}, []string{"namespace", "job", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shipjob_run_duration_seconds",
			Help:    "How long ended runs ran, from start to end.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400},
		}, []string{"namespace", "job"}),
		lastOutcome: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shipjob_job_last_run_outcome",
			Help: "1 for the outcome of the job's last ended run, 0 for the other outcomes (only on the leading replica).",
		}, []string{"namespace", "job", "outcome"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipjob_notifications_total",
			Help: "Run-end notifications by final result: delivered, failed (after its tries, or answered 4xx), refused (outbound policy).",
		}, []string{"namespace", "job", "result"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipjob_notification_attempts_total",
			Help: "HTTP tries of notifications, by answer class (2xx, 3xx, 4xx, 5xx, error, refused).",
		}, []string{"class"}),
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipjob_run_ends_missed_total",
			Help: "Finished runs deleted before the leader recorded their end (their TTL, Event, metrics and notifications were not all done): deleted by hand or by an earlier TTL while no leader kept up.",
		}, []string{"namespace"}),
		Leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shipjob_hooks_leader",
			Help: "1 while this replica leads (processes run ends and sends notifications).",
		}),
		seen: map[[2]string]time.Time{},
	}
	return m
}

// Collectors are the metrics to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.finishedTotal, m.duration, m.lastOutcome, m.notifications, m.attempts, m.missed, m.Leader}
}

func (m *Metrics) finished(ns string, st run.Status, o jobdef.Outcome) {
	if m == nil {
		return
	}
	m.finishedTotal.WithLabelValues(ns, st.Job, string(o)).Inc()
	if st.Started != nil && st.Finished != nil {
		m.duration.WithLabelValues(ns, st.Job).Observe(st.Finished.Sub(*st.Started).Seconds())
	}
	m.last(ns, st, o)
}

// missedEnd counts a finished run deleted before its end was recorded.
func (m *Metrics) missedEnd(ns string) {
	if m != nil {
		m.missed.WithLabelValues(ns).Inc()
	}
}

// last sets the job's last-outcome gauge if st ended after the last one
// counted.
func (m *Metrics) last(ns string, st run.Status, o jobdef.Outcome) {
	if m == nil || st.Finished == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{ns, st.Job}
	if at, ok := m.seen[k]; ok && !st.Finished.After(at) {
		return
	}
	m.seen[k] = *st.Finished
	for _, other := range jobdef.Outcomes {
		v := 0.0
		if other == o {
			v = 1
		}
		m.lastOutcome.WithLabelValues(ns, st.Job, string(other)).Set(v)
	}
}

// Reset drops the per-job gauges: a replica that stops leading must not
// go on exporting outcomes it no longer follows.
func (m *Metrics) Reset() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastOutcome.Reset()
	m.seen = map[[2]string]time.Time{}
}

func (m *Metrics) notified(ns, job, state string) {
	if m != nil {
		m.notifications.WithLabelValues(ns, job, state).Inc()
	}
}

func (m *Metrics) attempt(a notify.Attempt) {
	if m == nil {
		return
	}
	class := "error"
	switch {
	case a.Refused:
		class = "refused"
	case a.Status >= 200 && a.Status < 600:
		class = []string{"2xx", "3xx", "4xx", "5xx"}[a.Status/100-2]
	}
	m.attempts.WithLabelValues(class).Inc()
}

// forget drops every series of job in ns: its definition is gone or
// invalid.
func (m *Metrics) forget(ns, job string) {
	if m == nil {
		return
	}
	labels := prometheus.Labels{"namespace": ns, "job": job}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finishedTotal.DeletePartialMatch(labels)
	m.duration.DeletePartialMatch(labels)
	m.lastOutcome.DeletePartialMatch(labels)
	m.notifications.DeletePartialMatch(labels)
	delete(m.seen, [2]string{ns, job})
}
