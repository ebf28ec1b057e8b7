// Package oidcprovider is a real OpenID Connect provider for tests, built on
// the OpenID-certified github.com/zitadel/oidc/v3 op package with a small
// in-memory storage of our own: the authorization code flow with PKCE,
// refresh tokens (offline_access), ID tokens carrying email and groups, a
// password login form, served over HTTPS on loopback. The local
// kube-apiserver of test/cluster trusts it; the console's e2e signs people
// in through it. It is for tests only.
package oidcprovider

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/shipjob/kubectl-shipjob/test/testcert"
)

// The fixed identities of the provider (see the console surface doc).
const (
	// ClientID and ClientSecret are the console's client; ID tokens for it
	// carry the audience the local API server accepts.
	ClientID     = "shipjob-console"
	ClientSecret = "console-secret"
	// OtherClientID and OtherClientSecret are a second client, whose ID
	// tokens the API server must refuse (wrong audience).
	OtherClientID     = "other-app"
	OtherClientSecret = "other-secret"
	// Password is every user's password.
	Password = "password"
	// ScopeGroups asks for the groups claim.
	ScopeGroups = "groups"
	// DefaultIDTokenLifetime is the ID token lifetime unless Options says otherwise.
	DefaultIDTokenLifetime = 10 * time.Minute
)

// Users are the people the provider signs in.
var Users = []User{
	{Email: "alice@example.com", Name: "Alice", Password: Password, Groups: []string{"shipjob-devs"}},
	{Email: "bob@example.com", Name: "Bob", Password: Password, Groups: []string{"shipjob-viewers"}},
}

const loginPath = "/login"

// Options configure Start.
type Options struct {
	// Addr to listen on; empty means 127.0.0.1 on a free port.
	Addr string
	// IDTokenLifetime of both clients; zero means DefaultIDTokenLifetime.
	IDTokenLifetime time.Duration
	// Log receives the provider's log lines; nil discards them.
	Log *slog.Logger
}

// Provider is a running provider.
type Provider struct {
	// Issuer is the issuer URL (https://127.0.0.1:PORT).
	Issuer string
	// CA is the certificate the provider serves (self-signed); CAPEM is it in PEM.
	CA    *x509.Certificate
	CAPEM []byte

	lifetime atomic.Int64
	srv      *http.Server
	done     chan struct{}
}

// Start starts a provider serving HTTPS on loopback.
func Start(opts Options) (*Provider, error) {
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("oidc provider listen: %w", err)
	}
	p, err := serve(ln, opts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return p, nil
}

func serve(ln net.Listener, opts Options) (*Provider, error) {
	now := time.Now()
	pair, err := testcert.New(testcert.Template{Serial: now.UnixNano(), CommonName: "shipjob-test-oidc",
		IPs: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour), IsCA: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, nil)
	if err != nil {
		return nil, fmt.Errorf("oidc provider certificate: %w", err)
	}
	keyPEM, err := pair.KeyPEM()
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(pair.CertPEM(), keyPEM)
	if err != nil {
		return nil, fmt.Errorf("oidc provider certificate: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	p := &Provider{Issuer: fmt.Sprintf("https://127.0.0.1:%d", port), CA: pair.Cert, CAPEM: pair.CertPEM(),
		done: make(chan struct{})}
	lifetime := opts.IDTokenLifetime
	if lifetime <= 0 {
		lifetime = DefaultIDTokenLifetime
	}
	p.lifetime.Store(int64(lifetime))
	st, err := newStorage(Users, []*client{
		{id: ClientID, secret: ClientSecret, lifetime: &p.lifetime},
		{id: OtherClientID, secret: OtherClientSecret, lifetime: &p.lifetime},
	})
	if err != nil {
		return nil, err
	}
	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, fmt.Errorf("oidc provider key: %w", err)
	}
	logger := opts.Log
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:             cryptoKey,
		CodeMethodS256:        true,
		AuthMethodPost:        true,
		GrantTypeRefreshToken: true,
		SupportedUILocales:    []language.Tag{language.English},
		SupportedScopes:       []string{"openid", "profile", "email", ScopeGroups, "offline_access"},
		SupportedClaims:       []string{"sub", "aud", "exp", "iat", "iss", "nonce", "email", "email_verified", "name", "groups"},
	}, st, op.StaticIssuer(p.Issuer), op.WithLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("oidc provider: %w", err)
	}
	login := &loginHandler{st: st, callback: op.AuthCallbackURL(provider)}
	mux := http.NewServeMux()
	mux.Handle(loginPath, op.NewIssuerInterceptor(provider.IssuerFromRequest).Handler(login))
	mux.Handle("/", provider)
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	go func() {
		defer close(p.done)
		if err := p.srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("oidc provider stopped", "error", err)
		}
	}()
	return p, nil
}

// SetIDTokenLifetime changes the lifetime of ID tokens issued from now on
// and returns a func that restores the previous one. Tests that shorten it
// must not run in parallel with tests that need long-lived tokens.
func (p *Provider) SetIDTokenLifetime(d time.Duration) (restore func()) {
	old := p.lifetime.Swap(int64(d))
	return func() { p.lifetime.Store(old) }
}

// HTTPClient is an HTTP client that trusts the provider (and nothing else)
// and does not follow redirects.
func (p *Provider) HTTPClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(p.CA)
	return &http.Client{Timeout: 30 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Close stops the provider.
func (p *Provider) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	<-p.done
	return err
}

// loginHandler is the provider's password form: GET shows it for the
// authorization request ?id=, POST checks the password and continues the
// flow at the op's callback.
type loginHandler struct {
	st       *storage
	callback func(context.Context, string) string
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in – test provider</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Sign in</h1>
{{if .Error}}<p role="alert" id="error">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="id" value="{{.ID}}">
<p><label for="username">Email</label> <input id="username" name="username" type="email" autocomplete="username" required></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button id="submit" type="submit">Sign in</button></p>
</form></main></body></html>
`))

func (l *loginHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch r.Method {
	case http.MethodGet:
		l.render(w, http.StatusOK, r.URL.Query().Get("id"), "")
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		id := r.PostForm.Get("id")
		if err := l.st.checkPassword(id, r.PostForm.Get("username"), r.PostForm.Get("password")); err != nil {
			l.render(w, http.StatusUnauthorized, id, err.Error())
			return
		}
		http.Redirect(w, r, l.callback(r.Context(), id), http.StatusFound)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (l *loginHandler) render(w http.ResponseWriter, code int, id, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_ = loginPage.Execute(w, struct{ ID, Error string }{id, msg})
}

// loginURL is the login form's path for the authorization request id.
func loginURL(id string) string { return loginPath + "?id=" + url.QueryEscape(id) }
