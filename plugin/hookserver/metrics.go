package hookserver

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, in a registry of its own
// (no package-level state).
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	triggers *prometheus.CounterVec
	limited  prometheus.Counter
}

func newMetrics(hooks func() int, extra ...prometheus.Collector) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipjob_hooks_http_requests_total",
			Help: "HTTP requests by handler and status code.",
		}, []string{"handler", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shipjob_hooks_trigger_duration_seconds",
			Help:    "Time to trigger a run (lock, Helm upgrade), by outcome.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"outcome"}),
		triggers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipjob_hooks_triggers_total",
			Help: "Trigger attempts of authenticated hooks by namespace, job and status code.",
		}, []string{"namespace", "job", "code"}),
		limited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shipjob_hooks_unauthenticated_limited_total",
			Help: "Requests without a valid token answered 429 because their client address was over its limit.",
		}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.triggers, m.limited,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "shipjob_hooks_known",
			Help: "Hooks in this replica's cache.",
		}, func() float64 { return float64(hooks()) }))
	m.registry.MustRegister(extra...)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

func (m *metrics) request(handler string, code int) {
	m.requests.WithLabelValues(handler, strconv.Itoa(code)).Inc()
}

func (m *metrics) limitedClient() { m.limited.Inc() }

func (m *metrics) trigger(ns, job string, code int, seconds float64) {
	outcome := "created"
	if code == http.StatusOK {
		outcome = "unchanged" // an idempotency key's run, found
	} else if code != http.StatusCreated {
		outcome = "failed"
	}
	if seconds >= 0 {
		m.latency.WithLabelValues(outcome).Observe(seconds)
	}
	m.triggers.WithLabelValues(ns, job, strconv.Itoa(code)).Inc()
}
