package hookserver

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
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
	// TLSCertFile and TLSKeyFile (both or neither) make the server speak
	// HTTPS only; the files are re-read when they change (rotation).
	TLSCertFile, TLSKeyFile string
	// Listening, if set, is called once the listener is open (the TLS
	// files loaded): what must start only with a server that can run.
	Listening func()
}

// Serve runs the hook server until ctx ends (SIGTERM), then shuts down
// gracefully: /readyz fails, new connections stop after ShutdownDelay,
// in-flight triggers finish (up to ShutdownTimeout), pending last-used
// times are written.
func Serve(ctx context.Context, cfg ServerConfig, opts ServeOptions) error {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	var certs *certReloader
	if opts.TLSCertFile != "" || opts.TLSKeyFile != "" {
		var err error
		if certs, err = newCertReloader(opts.TLSCertFile, opts.TLSKeyFile, cfg.Log); err != nil {
			return err
		}
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
		ErrorLog:          log.New(serverErrors{cfg.Log}, "", 0),
	}
	if certs != nil {
		srv.TLSConfig = certs.tlsConfig()
	}
	scope := cfg.Namespace
	if scope == "" {
		scope = "(all)"
	}
	cfg.Log.Info("listening", "addr", ln.Addr().String(), "tls", certs != nil, "namespace", scope,
		"rate_limit", cfg.RateLimit, "rate_burst", cfg.RateBurst, "external_url", cfg.ExternalURL)
	if opts.Listening != nil {
		opts.Listening()
	}
	served := make(chan error, 1)
	go func() {
		if certs != nil {
			served <- srv.ServeTLS(ln, "", "")
			return
		}
		served <- srv.Serve(ln)
	}()
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

// serverErrors logs net/http's own errors at warn, except TLS handshake
// failures (scanners, plain HTTP on the TLS port) at debug.
type serverErrors struct{ log *slog.Logger }

func (e serverErrors) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p[:min(len(p), 512)]))
	level := slog.LevelWarn
	if strings.Contains(msg, "TLS handshake error") {
		level = slog.LevelDebug
	}
	e.log.Log(context.Background(), level, "http server: "+msg)
	return len(p), nil
}
