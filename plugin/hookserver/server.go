package hookserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// Triggerer triggers runs: in production the run.Engine that `kubectl
// shipjob run` uses.
type Triggerer interface {
	Trigger(ctx context.Context, req run.Request) (*run.Result, error)
}

// ServerConfig configures a Server: the HTTP API alone (Run assembles the
// whole hook server from a Config).
type ServerConfig struct {
	Client    kubernetes.Interface
	Triggerer Triggerer
	// Namespace whose hooks are served; "" serves every namespace.
	Namespace string
	Log       *slog.Logger
	// RateLimit is triggers per second per hook (<= 0: no limit) with
	// bursts of RateBurst; status reads get ten times both.
	RateLimit float64
	RateBurst int
	// TriggerTimeout bounds one trigger, including the wait for other
	// triggers of the same job (default 2 minutes).
	TriggerTimeout time.Duration
	// Probe checks that the API server answers (default: GET /readyz).
	Probe func(context.Context) error
	// Collectors are more metrics served on /metrics (the trigger's).
	Collectors []prometheus.Collector
	// UnauthRateLimit is requests per second per client address that fail
	// authentication (unknown token, path or method) before they are
	// answered 429 (<= 0: no limit), with bursts of UnauthRateBurst.
	UnauthRateLimit float64
	UnauthRateBurst int
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// for UnauthRateLimit; otherwise the connection's address is.
	TrustedProxies []netip.Prefix
	// ExternalURL is the base of the statusUrl in 201 answers, e.g.
	// https://hooks.example.com; empty: statusUrl is a path. Never derived
	// from the request's Host or X-Forwarded-* headers.
	ExternalURL string
}

// Server is the hook HTTP API. Every replica is equal: hooks are read
// from the API server through a watch, triggers are serialized per job by
// the Triggerer (Helm release records as the lock).
type Server struct {
	cfg      ServerConfig
	index    *Index
	usage    *usage
	triggers *limiter
	reads    *limiter
	clients  *limiter
	metrics  *metrics
	apiOK    atomic.Bool
	draining atomic.Bool
}

// NewServer returns a server; Start begins watching hooks.
func NewServer(cfg ServerConfig) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.TriggerTimeout <= 0 {
		cfg.TriggerTimeout = 2 * time.Minute
	}
	if cfg.Probe == nil {
		cfg.Probe = defaultProbe(cfg.Client)
	}
	cfg.ExternalURL = strings.TrimRight(cfg.ExternalURL, "/")
	s := &Server{cfg: cfg, triggers: newLimiter(cfg.RateLimit, cfg.RateBurst, 0), reads: newLimiter(10*cfg.RateLimit, 10*cfg.RateBurst, 0),
		clients: newLimiter(cfg.UnauthRateLimit, cfg.UnauthRateBurst, MaxClients)}
	s.index = NewIndex(cfg.Client, cfg.Namespace, func(ns, id string) {
		s.triggers.forget(ns + "/" + id)
		s.reads.forget(ns + "/" + id)
	})
	s.usage = newUsage(cfg.Client, s.index, cfg.Log)
	s.metrics = newMetrics(s.index.Len, cfg.Collectors...)
	return s
}

func defaultProbe(client kubernetes.Interface) func(context.Context) error {
	return func(ctx context.Context) error {
		if rc := client.Discovery().RESTClient(); rc != nil {
			return rc.Get().AbsPath("/readyz").Do(ctx).Error()
		}
		_, err := client.Discovery().ServerVersion()
		return err
	}
}

// Start watches hooks, probes the API server and writes last-used times
// until ctx ends.
func (s *Server) Start(ctx context.Context) {
	s.index.Start(ctx)
	go s.usage.run(ctx, 10*time.Second)
	go func() {
		for {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := s.cfg.Probe(pctx)
			cancel()
			if was := s.apiOK.Swap(err == nil); was != (err == nil) {
				if err != nil {
					s.cfg.Log.Warn("API server unreachable", "error", err.Error())
				} else {
					s.cfg.Log.Info("API server reachable")
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
}

// WaitForSync blocks until the hooks are loaded or ctx ends.
func (s *Server) WaitForSync(ctx context.Context) bool { return s.index.WaitForSync(ctx) }

// Drain makes /readyz fail, so load balancers stop sending requests.
func (s *Server) Drain() { s.draining.Store(true) }

// Stop writes pending last-used times and stops the watch (after the ctx
// given to Start ended).
func (s *Server) Stop(ctx context.Context) {
	s.usage.flush(ctx)
	s.index.Shutdown()
}

// Handler is the HTTP API: POST /api/v1/dh, GET /api/v1/dh/runs/{run},
// /healthz, /readyz and /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(hook.TriggerPath, s.route("trigger", http.HandlerFunc(s.trigger)))
	mux.Handle(hook.RunsPath, s.route("status", http.HandlerFunc(s.status)))
	mux.Handle("/healthz", s.route("healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})))
	mux.Handle("/readyz", s.route("readyz", http.HandlerFunc(s.readyz)))
	mux.Handle("/metrics", s.route("metrics", s.metrics.handler()))
	mux.Handle("/", s.route("other", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, s.unauthenticated(w, r, errorf(http.StatusNotFound, "not found")))
	})))
	return mux
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	checks := map[string]bool{"hooksLoaded": s.index.Synced(), "apiServer": s.apiOK.Load(), "accepting": !s.draining.Load()}
	code := http.StatusOK
	for _, ok := range checks {
		if !ok {
			code = http.StatusServiceUnavailable
		}
	}
	writeJSON(w, code, map[string]any{"ready": code == http.StatusOK, "checks": checks})
}

// reqInfo is what a handler learned, for the request's log line.
type reqInfo struct {
	id, hook, job, run string
	err                error
	// client is the address the unauthenticated limit counts by;
	// unauth marks an answer to a request that did not authenticate.
	client string
	unauth bool
	// warnings of a trigger that created its run (e.g. finished runs
	// beyond the history limits it could not delete).
	warnings []string
}

type infoKey struct{}

func infoOf(r *http.Request) *reqInfo {
	if i, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
		return i
	}
	return &reqInfo{}
}

// maxLoggedPath bounds the request path in a log line (the caller chose it).
const maxLoggedPath = 128

var safeRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// route wraps h with a request id, metrics and one JSON log line per
// request. Headers (the token) are never logged, nor the query; the path
// and method only as a bounded, escaped prefix. Answers to requests that
// did not authenticate, and every 404, are logged at debug level: they are
// what a scan or flood produces.
func (s *Server) route(name string, h http.Handler) http.Handler {
	return routed{s: s, name: name, h: h}
}

// routed is route's handler: a type rather than a closure, so the
// compiler keeps one copy of it, not one per route (25 KB of binary).
type routed struct {
	s    *Server
	name string
	h    http.Handler
}

func (rt routed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s, name, h := rt.s, rt.name, rt.h
	start := time.Now()
	info := &reqInfo{id: r.Header.Get("X-Request-Id"), client: clientOf(r, s.cfg.TrustedProxies)}
	if !safeRequestID.MatchString(info.id) {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		info.id = hex.EncodeToString(b)
	}
	w.Header().Set("X-Request-Id", info.id)
	rec := &recorder{ResponseWriter: w, code: http.StatusOK}
	h.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
	s.metrics.request(name, rec.code)
	level := slog.LevelInfo
	switch {
	case rec.code >= 500:
		level = slog.LevelError
	case name == "healthz" || name == "readyz" || name == "metrics", info.unauth, rec.code == http.StatusNotFound:
		level = slog.LevelDebug
	}
	if !s.cfg.Log.Enabled(r.Context(), level) {
		return
	}
	attrs := []slog.Attr{slog.String("request_id", info.id), slog.String("method", safeText(r.Method, 16)),
		slog.String("path", safeText(r.URL.Path, maxLoggedPath)), slog.Int("status", rec.code),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000), slog.String("remote", r.RemoteAddr)}
	if info.client != "" && !strings.HasPrefix(r.RemoteAddr, info.client+":") {
		attrs = append(attrs, slog.String("client", info.client))
	}
	for _, kv := range [][2]string{{"hook", info.hook}, {"job", info.job}, {"run", info.run}} {
		if kv[1] != "" {
			attrs = append(attrs, slog.String(kv[0], kv[1]))
		}
	}
	if info.err != nil {
		attrs = append(attrs, slog.String("error", info.err.Error()))
	}
	if len(info.warnings) > 0 {
		attrs = append(attrs, slog.String("warnings", strings.Join(info.warnings, "; ")))
	}
	s.cfg.Log.LogAttrs(r.Context(), level, "request", attrs...)
}

// fail writes an error answer.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, e *apiError) {
	info := infoOf(r)
	if info.err == nil {
		info.err = e
	}
	writeJSON(w, e.Code, ErrorBody{Code: e.Code, Message: e.Message, RequestID: info.id})
}

type recorder struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.code, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
