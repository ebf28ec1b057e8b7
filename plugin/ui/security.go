package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"html"
	"net"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

const (
	// cookiePrefix + the port names the session cookie: browsers keep
	// cookies per host, not per port, so two servers on one host must not
	// share a name (they would log each other out).
	cookiePrefix = "shipjob_session_"
	csrfField    = "_csrf"
	csrfHeader   = "X-CSRF-Token"
	// maxBody bounds a form: a job with its files fits in a Secret (1 MiB).
	maxBody = 2 << 20
)

// contentSecurityPolicy: everything from this origin only, no inline
// script or style, no framing, forms post only here.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// session is the one browser session of a server: a one-time login token
// exchanged for a cookie, and the CSRF token of its forms.
type session struct {
	host       string // the listen address; the only Host served
	loginToken string
	cookie     string
	csrf       string

	// now is the clock sessions expire by (time.Now); idle and max end a
	// session (SessionIdle, SessionMax by default).
	now       func() time.Time
	idle, max time.Duration
	// onLogin, if set, is called once the login token is spent.
	onLogin func()

	mu   sync.Mutex
	used bool
	// started is when the token was exchanged, seen the last request with
	// the cookie: a session ends sessionIdle after seen and sessionMax
	// after started.
	started, seen time.Time
}

// By default a session expires after this long without a request, and
// this long after it started, whatever happens (documented in `ui --help`).
const (
	SessionIdle = time.Hour
	SessionMax  = 12 * time.Hour
)

func newSession(host string) (*session, error) {
	var vals [3]string
	for i := range vals {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("session token: %w", err)
		}
		vals[i] = hex.EncodeToString(b)
	}
	return &session{host: host, loginToken: vals[0], cookie: vals[1], csrf: vals[2], now: time.Now,
		idle: SessionIdle, max: SessionMax}, nil
}

// cookieName is the session cookie's name for this server's port.
func (s *session) cookieName() string {
	_, port, _ := net.SplitHostPort(s.host)
	return cookiePrefix + port
}

// exchange spends the login token once.
func (s *session) exchange(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used || !equal(token, s.loginToken) {
		return false
	}
	s.used = true
	s.started = s.now()
	s.seen = s.started
	if s.onLogin != nil {
		go s.onLogin()
	}
	return true
}

// check says why cookie opens no session ("" = it does) and counts the
// request as activity.
func (s *session) check(cookie string) string {
	if !equal(cookie, s.cookie) {
		return "This browser has no session with this server."
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	switch {
	case now.Sub(s.started) > s.max:
		return fmt.Sprintf("This session expired: sessions end %s after they start.", s.max)
	case now.Sub(s.seen) > s.idle:
		return fmt.Sprintf("This session expired: sessions end after %s without a request.", s.idle)
	}
	s.seen = now
	return ""
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// guard wraps next with the session checks, in order: security headers,
// Host (DNS rebinding: 403), static files (no session needed), the login
// token exchange, the session cookie (401) and, for anything but GET and
// HEAD, same origin and the CSRF token (403).
func (s *Server) guard(static, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		SecurityHeaders(h)
		if r.Host != s.sess.host {
			plain(w, http.StatusForbidden, "403 Forbidden: this server answers only to http://"+s.sess.host+" (Host header "+fmt.Sprintf("%q", r.Host)+").")
			return
		}
		if strings.HasPrefix(r.URL.Path, "/static/") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			static.ServeHTTP(w, r)
			return
		}
		h.Set("Cache-Control", "no-store")
		if tok := r.URL.Query().Get("token"); tok != "" {
			if !s.sess.exchange(tok) {
				s.unauthorized(w, r, "This link was already used or is not valid: a link opens one browser session only.")
				return
			}
			http.SetCookie(w, &http.Cookie{Name: s.sess.cookieName(), Value: s.sess.cookie, Path: "/",
				HttpOnly: true, SameSite: http.SameSiteStrictMode})
			q := r.URL.Query()
			q.Del("token")
			// Always a path of this origin: "//evil.example" (or "/\\evil.example",
			// which browsers read alike) would not be.
			clean := path.Clean("/" + strings.ReplaceAll(r.URL.Path, "\\", "/"))
			if len(q) > 0 {
				clean += "?" + q.Encode()
			}
			if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
				// Opened from the login file (file://): a redirect would stay
				// a cross-site navigation, which gets no SameSite=Strict
				// cookie; a page of this origin that moves on is same-site.
				sameSiteRedirect(w, clean)
				return
			}
			http.Redirect(w, r, clean, http.StatusSeeOther)
			return
		}
		c, err := r.Cookie(s.sess.cookieName())
		if err != nil {
			s.unauthorized(w, r, "This browser has no session with this server.")
			return
		}
		if why := s.sess.check(c.Value); why != "" {
			s.unauthorized(w, r, why)
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodPost:
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			if why := s.crossSite(r); why != "" {
				plain(w, http.StatusForbidden, "403 Forbidden: "+why)
				return
			}
		default:
			plain(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
			return
		}
		next.ServeHTTP(w, r.WithContext(WithActor(r.Context(), s.local)))
	})
}

// SecurityHeaders sets the headers every response of the UI carries: the
// strict CSP, no sniffing, no framing, same-origin referrers and windows.
func SecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin") // "no-referrer" makes form posts say Origin: null
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// crossSite says why a state-changing request is refused ("" = allowed):
// it must come from a page of this origin and carry the CSRF token.
func (s *Server) crossSite(r *http.Request) string {
	origin := r.Header.Get("Origin")
	site := r.Header.Get("Sec-Fetch-Site")
	switch {
	case origin == "" && site == "":
		return "the request does not say where it comes from (no Origin or Sec-Fetch-Site header)."
	case origin != "" && origin != "http://"+s.sess.host:
		return "cross-origin request from " + origin + "."
	case site != "" && site != "same-origin":
		return "cross-site request (Sec-Fetch-Site: " + site + ")."
	}
	tok := r.Header.Get(csrfHeader)
	if tok == "" {
		tok = r.PostFormValue(csrfField) // parses url-encoded and multipart forms
	}
	if !equal(tok, s.sess.csrf) {
		return "the form has no valid CSRF token: reload the page and try again."
	}
	return ""
}

// unauthorized is the 401 page: how to get a new link.
func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, why string) {
	s.pages.render(w, r, http.StatusUnauthorized, "unauthorized", &page{Title: "Session required", Error: why})
}

// sameSiteRedirect answers with a page that moves on to target (a path of
// this origin) by itself: no script (the CSP allows none), a link too.
func sameSiteRedirect(w http.ResponseWriter, target string) {
	t := html.EscapeString(target)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=%s">`+
		`<title>kubectl shipjob ui</title></head><body><p><a href="%s">Continue</a></p></body></html>`+"\n", t, t)
}

func plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}
