package hook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ServeOptions are the listener and shutdown settings of Serve.
type ServeOptions struct {
	// Listen is the TCP address, e.g. ":8080" or "127.0.0.1:0".
	Listen string
	// ShutdownDelay keeps serving (with /readyz failing) after ctx ends, so
	// load balancers stop routing here before the listener closes.
	ShutdownDelay time.Duration
	// ShutdownTimeout bounds the wait for in-flight requests.
	ShutdownTimeout time.Duration
}

// Serve runs the hook server until ctx ends (SIGTERM), then shuts down
// gracefully: /readyz fails, new connections stop after ShutdownDelay,
// in-flight triggers finish (up to ShutdownTimeout), pending last-used
// times are written.
func Serve(ctx context.Context, cfg Config, opts ServeOptions) error {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s := NewServer(cfg)
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	s.Start(bg)
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      s.cfg.TriggerTimeout + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn),
	}
	scope := cfg.Namespace
	if scope == "" {
		scope = "(all)"
	}
	cfg.Log.Info("listening", "addr", ln.Addr().String(), "namespace", scope,
		"rate_limit", cfg.RateLimit, "rate_burst", cfg.RateBurst)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	go func() {
		start := time.Now()
		if s.WaitForSync(bg) {
			cfg.Log.Info("hooks loaded", "hooks", s.index.Len(), "duration_ms", time.Since(start).Milliseconds())
		}
	}()

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	cfg.Log.Info("shutting down: finishing in-flight requests", "delay", opts.ShutdownDelay.String(),
		"timeout", opts.ShutdownTimeout.String())
	s.Drain()
	time.Sleep(opts.ShutdownDelay)
	sctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	stopBG()
	fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer fcancel()
	s.Stop(fctx)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: in-flight requests did not finish within %s: %w", opts.ShutdownTimeout, err)
	}
	cfg.Log.Info("stopped")
	return nil
}
