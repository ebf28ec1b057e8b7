package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/ui"
)

// Paths and cookies of the sign-in.
const (
	loginPath     = "/oauth2/login"
	callbackPath  = "/oauth2/callback"
	logoutPath    = "/oauth2/logout"
	signinPath    = "/signin"
	signedOutPath = "/signed-out"

	sessionCookie = "shipjob_console"
	authCookie    = "shipjob_console_auth"
	csrfField     = "_csrf"
	csrfHeader    = "X-CSRF-Token"
	// authTTL bounds a sign-in from login to callback.
	authTTL = 10 * time.Minute
	// maxCookie: browsers drop a cookie over 4096 bytes.
	maxCookie = 4000
	maxBody   = 2 << 20
)

// session is what the session cookie holds, sealed.
type session struct {
	ID      string `json:"sid"`
	IDToken string `json:"idt"`
	Refresh string `json:"rt,omitempty"`
	// Expiry is the ID token's, Start the sign-in's (Unix seconds).
	Expiry  int64    `json:"exp"`
	Start   int64    `json:"st"`
	Subject string   `json:"sub"`
	User    string   `json:"u"`
	Groups  []string `json:"g,omitempty"`
	// Who is the run provenance: the SelfSubjectReview's "user:NAME".
	Who  string `json:"who"`
	CSRF string `json:"csrf"`
}

// authState is the sign-in in flight (the auth cookie, sealed).
type authState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"next"`
	Expiry   int64  `json:"exp"`
}

// usedStates remembers spent states until they expire: a callback
// replayed with a copy of the auth cookie is refused on this replica.
type usedStates struct {
	mu sync.Mutex
	m  map[string]int64
}

func (u *usedStates) spend(state string, exp, now int64) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		u.m = map[string]int64{}
	}
	for k, e := range u.m {
		if e < now {
			delete(u.m, k)
		}
	}
	if _, ok := u.m[state]; ok {
		return false
	}
	u.m[state] = exp
	return true
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

func equal(a, b string) bool { return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// localNext is next when it is a path of this origin, else "/".
func localNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

// guard is the console's ui.Config.Guard: security headers, the Host
// check, the sign-in paths, and a session for everything else.
func (c *Console) guard(static, pages http.Handler) http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET "+loginPath, c.login)
	m.HandleFunc("GET "+callbackPath, c.callback)
	m.HandleFunc("POST "+logoutPath, c.logout)
	m.HandleFunc("GET "+signinPath, c.signin)
	m.HandleFunc("GET "+signedOutPath, c.signedOut)
	m.Handle("GET /static/", static)
	m.Handle("/", c.requireSession(pages))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		ui.SecurityHeaders(h)
		if r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			plain(w, http.StatusOK, "ok") // probes come with the pod's address as Host
			return
		}
		if r.Host != c.base.Host {
			plain(w, http.StatusForbidden, "403 Forbidden: this console answers only to "+c.origin+fmt.Sprintf(" (Host header %q).", r.Host))
			return
		}
		if c.secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		m.ServeHTTP(w, r)
	})
}

func (c *Console) setCookie(w http.ResponseWriter, name, value, path string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true,
		Secure: c.secure, SameSite: http.SameSiteLaxMode})
}

// login starts the code flow: state, nonce and PKCE verifier go to the
// sealed auth cookie, the browser to the provider.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if _, _, err := c.oidcProvider(r.Context()); err != nil {
		c.cfg.Log.Warn("console sign-in: provider unavailable", "err", err.Error())
		c.problem(w, http.StatusBadGateway, "The identity provider cannot be reached now: try again in a moment.")
		return
	}
	st := authState{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(),
		Next: localNext(r.URL.Query().Get("next")), Expiry: c.cfg.Now().Add(authTTL).Unix()}
	sealed, err := c.seal.seal(authCookie, st)
	if err != nil {
		c.problem(w, http.StatusInternalServerError, "Cannot start the sign-in: "+err.Error())
		return
	}
	c.setCookie(w, authCookie, sealed, "/oauth2/", int(authTTL/time.Second))
	http.Redirect(w, r, c.oauth.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), http.StatusFound)
}

// errSignIn is a refused callback: its message is shown to the person.
type errSignIn struct {
	code int
	msg  string
}

func (e *errSignIn) Error() string { return e.msg }

func refuse(code int, format string, args ...any) error {
	return &errSignIn{code: code, msg: fmt.Sprintf(format, args...)}
}

// callback ends the code flow: checks the state, exchanges the code,
// verifies the ID token and makes the session.
func (c *Console) callback(w http.ResponseWriter, r *http.Request) {
	c.setCookie(w, authCookie, "", "/oauth2/", -1) // spent, whatever happens
	s, next, err := c.finishSignIn(r)
	if err != nil {
		var e *errSignIn
		if !errors.As(err, &e) {
			e = &errSignIn{code: http.StatusBadGateway, msg: err.Error()}
		}
		c.cfg.Log.Info("console sign-in refused", "err", e.msg)
		c.problem(w, e.code, e.msg)
		return
	}
	if err := c.writeSession(w, s); err != nil {
		c.problem(w, http.StatusInternalServerError, err.Error())
		return
	}
	c.cfg.Log.Info("console sign-in", "user", s.Who, "session", s.ID[:8])
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) finishSignIn(r *http.Request) (*session, string, error) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return nil, "", refuse(http.StatusUnauthorized, "The identity provider refused the sign-in: %.100q %.200q.", e, q.Get("error_description"))
	}
	ck, err := r.Cookie(authCookie)
	if err != nil {
		return nil, "", refuse(http.StatusBadRequest, "No sign-in in progress in this browser (or it took over %s): sign in again.", authTTL)
	}
	var st authState
	now := c.cfg.Now()
	if err := c.seal.open(authCookie, ck.Value, &st); err != nil || st.Expiry < now.Unix() {
		return nil, "", refuse(http.StatusBadRequest, "The sign-in expired or is not valid: sign in again.")
	}
	if !equal(q.Get("state"), st.State) {
		return nil, "", refuse(http.StatusBadRequest, "The sign-in's state does not match this browser's: sign in again.")
	}
	if !c.states.spend(st.State, st.Expiry, now.Unix()) {
		return nil, "", refuse(http.StatusBadRequest, "This sign-in was already used: sign in again.")
	}
	code := q.Get("code")
	if code == "" {
		return nil, "", refuse(http.StatusBadRequest, "The identity provider sent no code: sign in again.")
	}
	_, verifier, err := c.oidcProvider(r.Context())
	if err != nil {
		return nil, "", err
	}
	ctx := oidc.ClientContext(r.Context(), c.http)
	tok, err := c.oauth.Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return nil, "", refuse(http.StatusUnauthorized, "The identity provider refused the code: %v", err)
	}
	s, err := c.sessionFrom(ctx, verifier, tok, st.Nonce)
	if err != nil {
		return nil, "", err
	}
	s.ID, s.CSRF, s.Start = random(), random(), now.Unix()
	// Who the API server says the person is: the run provenance, and the
	// proof that it accepts them at all.
	a, err := c.actor(s)
	if err != nil {
		return nil, "", err
	}
	rev, err := a.Client.AuthenticationV1().SelfSubjectReviews().Create(r.Context(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		c.actors.drop(s.ID)
		return nil, "", refuse(http.StatusForbidden, "The Kubernetes API server did not accept your sign-in: %v", err)
	}
	if rev.Status.UserInfo.Username == "" {
		c.actors.drop(s.ID)
		return nil, "", refuse(http.StatusForbidden, "The Kubernetes API server did not name you.")
	}
	s.Who = "user:" + rev.Status.UserInfo.Username
	c.actors.drop(s.ID) // made before Who was known
	return s, localNext(st.Next), nil
}

// sessionFrom verifies tok's ID token (issuer, audience, expiry, and the
// nonce when one is given) and reads the person from its claims.
func (c *Console) sessionFrom(ctx context.Context, verifier *oidc.IDTokenVerifier, tok *oauth2.Token, nonce string) (*session, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, refuse(http.StatusBadGateway, "The identity provider sent no ID token.")
	}
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		return nil, refuse(http.StatusUnauthorized, "The ID token is not valid: %v", err)
	}
	if nonce != "" && !equal(idt.Nonce, nonce) {
		return nil, refuse(http.StatusUnauthorized, "The ID token's nonce does not match this sign-in's.")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, refuse(http.StatusUnauthorized, "The ID token's claims: %v", err)
	}
	user, groups, err := c.person(claims)
	if err != nil {
		return nil, err
	}
	return &session{IDToken: raw, Refresh: tok.RefreshToken, Expiry: idt.Expiry.Unix(), Subject: idt.Subject,
		User: user, Groups: groups}, nil
}

// person reads the username and groups from the claims, prefixed, as the
// API server does.
func (c *Console) person(claims map[string]any) (string, []string, error) {
	name, _ := claims[c.cfg.UsernameClaim].(string)
	if name == "" {
		return "", nil, refuse(http.StatusUnauthorized, "The ID token has no %q claim to name you by.", c.cfg.UsernameClaim)
	}
	if c.cfg.UsernameClaim == "email" {
		if v, ok := claims["email_verified"]; ok && v != true {
			return "", nil, refuse(http.StatusUnauthorized, "Your email address is not verified by the identity provider.")
		}
	}
	var groups []string
	switch g := claims[c.cfg.GroupsClaim].(type) {
	case string:
		groups = []string{c.cfg.GroupsPrefix + g}
	case []any:
		for _, v := range g {
			if s, ok := v.(string); ok {
				groups = append(groups, c.cfg.GroupsPrefix+s)
			}
		}
	}
	name = c.cfg.UsernamePrefix + name
	if c.cfg.Auth == AuthImpersonate {
		// The provider must not name the cluster's own identities.
		for _, n := range append([]string{name}, groups...) {
			if strings.HasPrefix(n, "system:") {
				return "", nil, refuse(http.StatusForbidden, "The console does not act as %q: give --oidc-username-prefix and --oidc-groups-prefix.", n)
			}
		}
	}
	return name, groups, nil
}
