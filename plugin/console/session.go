package console

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/shipjob/kubectl-shipjob/plugin/ui"
)

func (c *Console) writeSession(w http.ResponseWriter, s *session) error {
	sealed, err := c.seal.seal(sessionCookie, s)
	if err != nil {
		return err
	}
	if len(sealed) > maxCookie {
		return fmt.Errorf("the session does not fit in a cookie (%d bytes): the identity provider's tokens are too large", len(sealed))
	}
	left := time.Unix(s.Start, 0).Add(c.cfg.SessionMax).Sub(c.cfg.Now())
	c.setCookie(w, sessionCookie, sealed, "/", max(1, int(left/time.Second)))
	return nil
}

// readSession opens the session cookie: nil when there is none, it is not
// valid, was signed out, or reached its max age. It does not refresh.
func (c *Console) readSession(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	var s session
	if c.seal.open(sessionCookie, ck.Value, &s) != nil || s.ID == "" {
		return nil
	}
	if c.cfg.Now().After(time.Unix(s.Start, 0).Add(c.cfg.SessionMax)) {
		return nil
	}
	if c.store.isRevoked(r.Context(), s.ID) {
		return nil
	}
	return &s
}

// fresh returns s with a current ID token: refreshed (and the cookie
// rewritten) when it expired and a refresh token exists; nil when that
// is not possible.
func (c *Console) fresh(w http.ResponseWriter, r *http.Request, s *session) *session {
	now := c.cfg.Now()
	if now.Before(time.Unix(s.Expiry, 0)) {
		return s
	}
	if s.Refresh == "" {
		return nil
	}
	_, verifier, err := c.oidcProvider(r.Context())
	if err != nil {
		return nil
	}
	ctx := oidc.ClientContext(r.Context(), c.http)
	tok, err := c.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: s.Refresh, Expiry: now.Add(-time.Minute)}).Token()
	if err != nil {
		c.cfg.Log.Info("console session refresh failed", "user", s.Who, "err", err.Error())
		return nil
	}
	ns, err := c.sessionFrom(ctx, verifier, tok, "")
	if err != nil || ns.Subject != s.Subject || ns.User != s.User {
		return nil
	}
	s.IDToken, s.Expiry, s.Groups = ns.IDToken, ns.Expiry, ns.Groups
	if ns.Refresh != "" {
		s.Refresh = ns.Refresh
	}
	if c.writeSession(w, s) != nil {
		return nil
	}
	return s
}

// requireSession passes on requests of a signed-in person, as them.
func (c *Console) requireSession(pages http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.readSession(r)
		if s != nil {
			s = c.fresh(w, r, s)
		}
		if s == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, signinPath+"?next="+url.QueryEscape(localNext(r.URL.RequestURI())), http.StatusSeeOther)
				return
			}
			plain(w, http.StatusUnauthorized, "401 Unauthorized: sign in at "+c.origin+signinPath+".")
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodPost:
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			if why := c.crossSite(r, s); why != "" {
				plain(w, http.StatusForbidden, "403 Forbidden: "+why)
				return
			}
		default:
			plain(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
			return
		}
		a, err := c.actor(s)
		if err != nil {
			plain(w, http.StatusInternalServerError, "500 Internal Server Error: "+err.Error())
			return
		}
		pages.ServeHTTP(w, r.WithContext(ui.WithActor(r.Context(), a)))
	})
}

// crossSite says why a state-changing request is refused ("" = allowed):
// from a page of this origin, with the session's CSRF token.
func (c *Console) crossSite(r *http.Request, s *session) string {
	origin, site := r.Header.Get("Origin"), r.Header.Get("Sec-Fetch-Site")
	switch {
	case origin == "" && site == "":
		return "the request does not say where it comes from (no Origin or Sec-Fetch-Site header)."
	case origin != "" && origin != c.origin:
		return "cross-origin request from " + origin + "."
	case site != "" && site != "same-origin":
		return "cross-site request (Sec-Fetch-Site: " + site + ")."
	}
	tok := r.Header.Get(csrfHeader)
	if tok == "" {
		tok = r.PostFormValue(csrfField)
	}
	if !equal(tok, s.CSRF) {
		return "the form has no valid CSRF token: reload the page and try again."
	}
	return ""
}

// logout ends the session on every replica: its id goes to the
// revocation list until it would have ended anyway.
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if s := c.readSession(r); s != nil {
		if why := c.crossSite(r, s); why != "" {
			plain(w, http.StatusForbidden, "403 Forbidden: "+why)
			return
		}
		if err := c.store.revoke(r.Context(), s.ID, time.Unix(s.Start, 0).Add(c.cfg.SessionMax)); err != nil {
			c.cfg.Log.Warn("console sign-out not recorded", "user", s.Who, "err", err.Error())
			c.problem(w, http.StatusServiceUnavailable, "Signing out failed: try again in a moment.")
			return
		}
		c.actors.drop(s.ID)
		c.cfg.Log.Info("console sign-out", "user", s.Who, "session", s.ID[:8])
	}
	c.setCookie(w, sessionCookie, "", "/", -1)
	http.Redirect(w, r, signedOutPath, http.StatusSeeOther)
}
