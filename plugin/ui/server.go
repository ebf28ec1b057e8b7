// Package ui is `kubectl shipjob ui`: a local web front end served on
// loopback with the user's own credentials, like `kubectl proxy`. The API
// server's RBAC is the only authorization; the server guards the browser
// session (one-time link, cookie, Host check, CSRF, strict CSP). Pages are
// rendered on the server; JavaScript only adds live updates. It calls the
// domain packages (jobdef, run, hook) and imports no command layer.
package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// Config is what the server works with.
type Config struct {
	// Client talks to the API server with the user's credentials.
	Client kubernetes.Interface
	// Engine triggers runs and deletes jobs (as the user: it is built on
	// the user's kubeconfig too).
	Engine run.Engine
	// Clock is the API server's clock (see run.ServerClock), may be nil.
	Clock *run.ServerClock
	// Namespace is the one "/" opens.
	Namespace string
	// WhoAmI names the user for a run's provenance ("user:alice").
	WhoAmI func(ctx context.Context) string
	// Guard, if set, replaces the local session guard (one-time link,
	// loopback Host): it authenticates each request and passes it on to
	// pages with its Actor in the context (WithActor); static may be served
	// without one. Client, Engine and WhoAmI are then unused.
	Guard func(static, pages http.Handler) http.Handler
}

// Options tune Serve.
type Options struct {
	// Listen is a loopback address ("127.0.0.1:0" = a free port).
	Listen string
	// Out receives the first line: the one-time URL to open, or, when
	// Open opened a browser, the server's address without the token.
	Out io.Writer
	// Open, if set, opens a browser on a local file (a path, never the
	// token: see loginFile) that sends it to the one-time URL.
	Open func(path string) error
	// IdleTimeout and SessionTimeout end the browser session after so long
	// without a request and after it started (0: SessionIdle, SessionMax).
	IdleTimeout, SessionTimeout time.Duration
}

// Server is the UI's HTTP handler and its session.
type Server struct {
	cfg   Config
	sess  *session
	pages *pages
	// local is the one actor of the local UI (nil with a Guard).
	local *Actor
	// nsc is the local actor's namespace list; nscs, the others' by Key.
	nsc   nsCache
	nscMu sync.Mutex
	nscs  map[string]*nsCache
	// pc is what each person may do, by Key and namespace.
	pc permsCache
	// paged holds the namespaces whose Jobs page last had more jobs than
	// it shows (their runs are read per page: see jobsPage).
	paged sync.Map

	whoOnce sync.Once
	who     string
}

// NewServer returns the server for the listen address host ("127.0.0.1:PORT"):
// only requests with that Host header are served.
func NewServer(cfg Config, host string) (*Server, error) {
	sess, err := newSession(host)
	if err != nil {
		return nil, err
	}
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, sess: sess, pages: p, nscs: map[string]*nsCache{}}
	if cfg.Guard != nil {
		return s, nil
	}
	if cfg.Engine == nil {
		return nil, errors.New("ui: no engine to trigger runs with")
	}
	s.local = &Actor{Client: cfg.Client, Engine: cfg.Engine, CSRF: sess.csrf}
	s.nsc.actor = s.local
	s.nsc.mu.Lock()
	s.nsc.refresh(s) // the switcher's list, off the pages' path
	s.nsc.mu.Unlock()
	return s, nil
}

// LoginURL is the one-time link that starts the browser session.
func (s *Server) LoginURL() string {
	return "http://" + s.sess.host + "/?token=" + s.sess.loginToken
}

// Serve listens on opts.Listen (loopback only), prints the login URL and
// serves until ctx ends, then shuts down within a few seconds.
func Serve(ctx context.Context, cfg Config, opts Options) error {
	if err := checkLoopback(opts.Listen); err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s, err := NewServer(cfg, ln.Addr().String())
	if err != nil {
		ln.Close()
		return err
	}
	if opts.IdleTimeout > 0 {
		s.sess.idle = opts.IdleTimeout
	}
	if opts.SessionTimeout > 0 {
		s.sess.max = opts.SessionTimeout
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	opened := false
	if opts.Open != nil {
		if lf, err := writeLoginFile(s.LoginURL()); err == nil {
			s.sess.onLogin = lf.remove
			defer lf.remove()
			if opened = opts.Open(lf.path) == nil; !opened {
				lf.remove()
			}
		}
	}
	if opts.Out != nil {
		// The link is printed only for manual use: once a browser has
		// spent it, it is of no use (and a terminal's scrollback is kept).
		if opened {
			fmt.Fprintf(opts.Out, "Opened http://%s/ in your browser (for a link to open elsewhere, run with --no-browser)\n", s.sess.host)
		} else {
			fmt.Fprintln(opts.Out, s.LoginURL())
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	// Event streams end with ctx (BaseContext); Shutdown waits for the rest.
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// checkLoopback refuses any listen address but a loopback IP and port.
func checkLoopback(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("invalid --listen %q: want 127.0.0.1:PORT: %w", listen, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("invalid --listen %q: the UI serves your credentials and listens on a loopback address only (127.0.0.1 or [::1])", listen)
	}
	return nil
}

// user is who the API server says the request's actor is: the console's
// actors know it; the local UI's is asked once.
func (s *Server) user(ctx context.Context) string {
	if a := s.actor(ctx); a != s.local {
		if a.User != "" {
			return a.User
		}
		return run.WhoAmI(ctx, a.Client)
	}
	s.whoOnce.Do(func() {
		if s.cfg.WhoAmI != nil {
			s.who = s.cfg.WhoAmI(ctx)
		} else {
			s.who = run.WhoAmI(ctx, s.cfg.Client)
		}
	})
	return s.who
}
