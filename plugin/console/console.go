// Package console is the team console: the pages of `kubectl shipjob ui`
// served by `hooks serve --console` behind OpenID Connect sign-in. Each
// request is made as its person: with their ID token as the bearer token,
// or by the server impersonating them. Sessions are sealed cookies (a key
// in a Secret every replica shares); signing out revokes the session on
// every replica.
package console

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"github.com/shipjob/kubectl-shipjob/plugin/ui"
)

// Defaults of the flags.
const (
	DefaultListen        = ":8443"
	DefaultSessionSecret = "shipjob-console-session"
	DefaultSessionMax    = 8 * time.Hour
	DefaultScopes        = "openid,profile,email,groups"
	DefaultUsernameClaim = "email"
	DefaultGroupsClaim   = "groups"
)

// Config is what the console is made of.
type Config struct {
	// URL is the console's external URL (https://console.example.com):
	// the only Host served and the base of the OAuth redirect URL.
	URL string
	// Listen is the console's own address; TLSCertFile and TLSKeyFile, if
	// set, make it HTTPS.
	Listen, TLSCertFile, TLSKeyFile string

	// The OpenID provider and this client.
	IssuerURL, ClientID, ClientSecret string
	// IssuerCA is extra PEM CAs to reach the issuer (nil: the system's).
	IssuerCA []byte
	Scopes   []string
	// Claims and prefixes, applied as the API server applies them.
	UsernameClaim, UsernamePrefix, GroupsClaim, GroupsPrefix string

	// Auth is AuthToken or AuthImpersonate.
	Auth string
	// SessionSecret names the Secret in Namespace holding the sealing key
	// and the revocation list; SessionMax caps a session's life.
	SessionSecret, Namespace string
	SessionMax               time.Duration

	// Client is the server's own (the session Secret).
	Client kubernetes.Interface
	// REST is the server's rest.Config: with AuthToken only its host and
	// TLS trust are used; with AuthImpersonate all of it.
	REST *rest.Config
	// Getter is the server's kubectl configuration: discovery, the REST
	// mapping and the namespace for Helm.
	Getter genericclioptions.RESTClientGetter
	// Engine and NewEngine make each person's engine (helmrun.New, with
	// their client and configuration).
	Engine    run.EngineConfig
	NewEngine run.NewEngine
	// Home is the namespace "/" opens.
	Home string
	Log  *slog.Logger
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Console is the console's HTTP handler.
type Console struct {
	cfg    Config
	base   *url.URL
	origin string
	secure bool
	seal   *sealer
	store  *store
	http   *http.Client // to the issuer
	oauth  oauth2.Config
	pages  http.Handler

	provMu   sync.Mutex
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier

	actors actorCache
	states usedStates
}

// CheckURL checks --console-url: an absolute http(s) URL with a host and
// no path, user, query or fragment; plain http only on loopback.
func CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return nil, errors.New("--console-url is required with --console, e.g. https://console.example.com")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || u.Opaque != "" || (u.Path != "" && u.Path != "/"):
		return nil, fmt.Errorf("invalid --console-url %q: want an absolute http(s) URL without path, query or fragment, e.g. https://console.example.com", raw)
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		return nil, fmt.Errorf("invalid --console-url %q: plain http only on 127.0.0.1 or localhost (cookies would travel in clear); give --console-tls-cert-file and --console-tls-key-file and an https URL", raw)
	}
	u.Path = ""
	return u, nil
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// New checks cfg and reads (or creates) the session key.
func New(ctx context.Context, cfg Config) (*Console, error) {
	base, err := CheckURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = DefaultSessionMax
	}
	if cfg.Auth == "" {
		cfg.Auth = AuthToken
	}
	if cfg.Auth != AuthToken && cfg.Auth != AuthImpersonate {
		return nil, fmt.Errorf("invalid --console-auth %q: want token or impersonate", cfg.Auth)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if len(cfg.IssuerCA) > 0 && !pool.AppendCertsFromPEM(cfg.IssuerCA) {
		return nil, errors.New("invalid --oidc-ca-file: no PEM certificate in it")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c := &Console{cfg: cfg, base: base, origin: base.Scheme + "://" + base.Host, secure: base.Scheme == "https",
		http:  &http.Client{Transport: tr, Timeout: 30 * time.Second},
		store: &store{client: cfg.Client, namespace: cfg.Namespace, name: cfg.SessionSecret, now: cfg.Now, ttl: revokedTTL}}
	key, err := c.store.key(ctx)
	if err != nil {
		return nil, err
	}
	if c.seal, err = newSealer(key); err != nil {
		return nil, err
	}
	c.oauth = oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Scopes: cfg.Scopes,
		RedirectURL: c.origin + callbackPath}
	srv, err := ui.NewServer(ui.Config{Namespace: cfg.Home, Guard: c.guard}, base.Host)
	if err != nil {
		return nil, err
	}
	c.pages = srv.Handler()
	return c, nil
}

// Handler is the console's whole HTTP surface.
func (c *Console) Handler() http.Handler { return c.pages }

// oidcProvider discovers the issuer on first use (and again until that
// works: the server starts even while the provider is down).
func (c *Console) oidcProvider(ctx context.Context) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	c.provMu.Lock()
	defer c.provMu.Unlock()
	if c.provider != nil {
		return c.provider, c.verifier, nil
	}
	dctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, c.http), 15*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, c.cfg.IssuerURL)
	if err != nil {
		return nil, nil, fmt.Errorf("OpenID provider %s: %w", c.cfg.IssuerURL, err)
	}
	c.provider = p
	c.verifier = p.VerifierContext(oidc.ClientContext(context.Background(), c.http),
		&oidc.Config{ClientID: c.cfg.ClientID, Now: c.cfg.Now})
	c.oauth.Endpoint = p.Endpoint()
	return c.provider, c.verifier, nil
}

// Serve listens on cfg.Listen and serves until ctx ends.
func Serve(ctx context.Context, c *Console) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", c.cfg.Listen)
	if err != nil {
		return fmt.Errorf("console: listen: %w", err)
	}
	srv := &http.Server{
		Handler:           c.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(c.cfg.Log.Handler(), slog.LevelDebug),
	}
	if c.cfg.TLSCertFile != "" {
		r := &certReloader{certFile: c.cfg.TLSCertFile, keyFile: c.cfg.TLSKeyFile}
		if _, err := r.get(nil); err != nil {
			ln.Close()
			return err
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.get}
	}
	c.cfg.Log.Info("console listening", "addr", ln.Addr().String(), "url", c.origin, "auth", c.cfg.Auth)
	errc := make(chan error, 1)
	go func() {
		if c.cfg.TLSCertFile != "" {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("console: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("console: shut down: %w", err)
	}
	return nil
}

// ParseScopes reads --oidc-scopes; openid is always asked.
func ParseScopes(s string) []string {
	out := []string{oidc.ScopeOpenID}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" && f != oidc.ScopeOpenID {
			out = append(out, f)
		}
	}
	return out
}
