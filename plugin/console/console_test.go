package console

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

const (
	consoleURL = "https://console.example"
	clientID   = "shipjob-console"
)

// provider is a small OpenID provider for the tests: discovery, keys and
// a token endpoint answering codes the test registers.
type provider struct {
	srv *httptest.Server
	key *rsa.PrivateKey

	mu    sync.Mutex
	codes map[string]grant // code → what its exchange returns
	// refresh: refresh token → claims of the new ID token
	refresh map[string]map[string]any
}

type grant struct {
	claims    map[string]any
	challenge string // PKCE S256 challenge the verifier must match
	refresh   string
}

func newProvider(t *testing.T) *provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &provider{key: key, codes: map[string]grant{}, refresh: map[string]map[string]any{}}
	m := http.NewServeMux()
	m.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize",
			"token_endpoint": p.srv.URL + "/token", "jwks_uri": p.srv.URL + "/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	m.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"keys": []map[string]any{{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())}}})
	})
	m.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		if id, secret, ok := r.BasicAuth(); !ok || id != clientID || secret != "console-secret" {
			if r.PostFormValue("client_id") != clientID || r.PostFormValue("client_secret") != "console-secret" {
				w.WriteHeader(http.StatusUnauthorized)
				writeJSON(w, map[string]any{"error": "invalid_client"})
				return
			}
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		var claims map[string]any
		var rt string
		switch r.PostFormValue("grant_type") {
		case "authorization_code":
			g, ok := p.codes[r.PostFormValue("code")]
			delete(p.codes, r.PostFormValue("code"))
			sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
			if !ok || b64(sum[:]) != g.challenge {
				w.WriteHeader(http.StatusBadRequest)
				writeJSON(w, map[string]any{"error": "invalid_grant"})
				return
			}
			claims, rt = g.claims, g.refresh
		case "refresh_token":
			c, ok := p.refresh[r.PostFormValue("refresh_token")]
			if !ok {
				w.WriteHeader(http.StatusBadRequest)
				writeJSON(w, map[string]any{"error": "invalid_grant"})
				return
			}
			claims = c
		}
		resp := map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 60, "id_token": p.sign(claims)}
		if rt != "" {
			resp["refresh_token"] = rt
		}
		writeJSON(w, resp)
	})
	p.srv = httptest.NewServer(m)
	t.Cleanup(p.srv.Close)
	return p
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (p *provider) sign(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	in := b64(h) + "." + b64(c)
	sum := sha256.Sum256([]byte(in))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, sum[:])
	return in + "." + b64(sig)
}

// claims are alice's ID token's, for nonce, expiring in ttl.
func (p *provider) claims(nonce string, ttl time.Duration) map[string]any {
	return map[string]any{"iss": p.srv.URL, "aud": clientID, "sub": "alice-id", "email": "alice@example.com",
		"email_verified": true, "groups": []string{"shipjob-devs"}, "nonce": nonce,
		"iat": time.Now().Unix(), "exp": time.Now().Add(ttl).Unix()}
}

// apiServer answers SelfSubjectReviews with who the request authenticates
// as: the bearer token's email, or the impersonated user.
type apiServer struct {
	srv *httptest.Server
	mu  sync.Mutex
	// last request's headers
	last http.Header
}

func newAPIServer(t *testing.T) *apiServer {
	a := &apiServer{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.last = r.Header.Clone()
		a.mu.Unlock()
		if r.URL.Path != "/apis/authentication.k8s.io/v1/selfsubjectreviews" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		user, groups := r.Header.Get("Impersonate-User"), r.Header.Values("Impersonate-Group")
		if user == "" {
			tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			parts := strings.Split(tok, ".")
			var claims map[string]any
			if len(parts) == 3 {
				b, _ := base64.RawURLEncoding.DecodeString(parts[1])
				_ = json.Unmarshal(b, &claims)
			}
			user, _ = claims["email"].(string)
		}
		if user == "" {
			w.WriteHeader(http.StatusUnauthorized)
			writeJSON(w, map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 401, "reason": "Unauthorized"})
			return
		}
		writeJSON(w, map[string]any{"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
			"status": map[string]any{"userInfo": map[string]any{"username": user, "groups": groups}}})
	}))
	t.Cleanup(a.srv.Close)
	return a
}

type noEngine struct{}

func (noEngine) Trigger(context.Context, run.Request) (*run.Result, error) {
	return nil, errors.New("no engine")
}
func (noEngine) DeleteJob(context.Context, string, string, run.DeleteJobOptions) (run.DeleteJobResult, error) {
	return run.DeleteJobResult{}, errors.New("no engine")
}

type env struct {
	t     *testing.T
	p     *provider
	api   *apiServer
	cs    *fake.Clientset
	c     *Console
	h     http.Handler
	now   time.Time
	clock func() time.Time
}

func newEnv(t *testing.T, auth string) *env {
	t.Helper()
	e := &env{t: t, p: newProvider(t), api: newAPIServer(t), cs: fake.NewClientset(), now: time.Now()}
	e.clock = func() time.Time { return e.now }
	e.c = e.console(auth)
	e.h = e.c.Handler()
	return e
}

// console makes a replica sharing e's cluster.
func (e *env) console(auth string) *Console {
	e.t.Helper()
	c, err := New(e.t.Context(), Config{URL: consoleURL, IssuerURL: e.p.srv.URL, ClientID: clientID, ClientSecret: "console-secret",
		Scopes: ParseScopes(DefaultScopes), UsernameClaim: "email", GroupsClaim: "groups", GroupsPrefix: "oidc:",
		Auth: auth, SessionSecret: DefaultSessionSecret, Namespace: "shipjob", SessionMax: time.Hour,
		Client: e.cs, REST: &rest.Config{Host: e.api.srv.URL, Username: "server", Password: "server-secret"},
		NewEngine: func(run.EngineConfig) run.Engine { return noEngine{} }, Home: "team", Now: e.clock})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) do(h http.Handler, method, target string, cookies []*http.Cookie, hdr map[string]string, body string) *http.Response {
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, consoleURL+target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, consoleURL+target, nil)
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func cookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// login starts a sign-in: the auth cookie and the authorize URL's query.
func (e *env) login(next string) (*http.Cookie, url.Values) {
	e.t.Helper()
	resp := e.do(e.h, "GET", "/oauth2/login?next="+url.QueryEscape(next), nil, nil, "")
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("login: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	ac := cookie(resp, authCookie)
	if ac == nil || !ac.HttpOnly || !ac.Secure || ac.SameSite != http.SameSiteLaxMode {
		e.t.Fatalf("auth cookie: %+v", ac)
	}
	return ac, loc.Query()
}

// signIn signs alice in; claims, if set, edits her ID token's claims.
func (e *env) signIn(refresh string, edit func(map[string]any)) *http.Cookie {
	e.t.Helper()
	ac, q := e.login("/namespaces/team/jobs")
	cl := e.p.claims(q.Get("nonce"), time.Minute)
	if edit != nil {
		edit(cl)
	}
	e.p.mu.Lock()
	e.p.codes["code1"] = grant{claims: cl, challenge: q.Get("code_challenge"), refresh: refresh}
	e.p.mu.Unlock()
	resp := e.do(e.h, "GET", "/oauth2/callback?code=code1&state="+q.Get("state"), []*http.Cookie{ac}, nil, "")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/namespaces/team/jobs" {
		e.t.Fatalf("callback: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	sc := cookie(resp, sessionCookie)
	if sc == nil || !sc.HttpOnly || !sc.Secure || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" {
		e.t.Fatalf("session cookie: %+v", sc)
	}
	return sc
}

// signedIn says whether the cookie opens a page (the namespace switcher
// answers without an API request).
func (e *env) signedIn(h http.Handler, sc *http.Cookie) bool {
	e.t.Helper()
	resp := e.do(h, "GET", "/switch?ns=team", []*http.Cookie{sc}, nil, "")
	switch {
	case resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/namespaces/team/jobs":
		return true
	case resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/signin?next="):
		return false
	}
	e.t.Fatalf("page: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	return false
}

func TestSignIn(t *testing.T) {
	e := newEnv(t, AuthToken)
	if resp := e.do(e.h, "GET", "/namespaces/team/jobs?x=1", nil, nil, ""); resp.StatusCode != http.StatusSeeOther ||
		resp.Header.Get("Location") != "/signin?next="+url.QueryEscape("/namespaces/team/jobs?x=1") {
		t.Fatalf("no session: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := e.do(e.h, "POST", "/namespaces/team/jobs/x/run", nil, nil, "a=b"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("POST without session: %d", resp.StatusCode)
	}
	_, q := e.login("/")
	for k, want := range map[string]string{"client_id": clientID, "response_type": "code", "code_challenge_method": "S256",
		"redirect_uri": consoleURL + "/oauth2/callback", "scope": "openid profile email groups"} {
		if q.Get(k) != want {
			t.Errorf("authorize %s = %q, want %q", k, q.Get(k), want)
		}
	}
	if q.Get("state") == "" || q.Get("nonce") == "" || q.Get("code_challenge") == "" {
		t.Errorf("authorize URL lacks state, nonce or PKCE: %v", q)
	}
	sc := e.signIn("", nil)
	if !e.signedIn(e.h, sc) {
		t.Fatal("signed in, yet sent to sign in")
	}
	// Token mode: the ID token and none of the server's credentials.
	e.api.mu.Lock()
	auth := e.api.last.Get("Authorization")
	e.api.mu.Unlock()
	if !strings.HasPrefix(auth, "Bearer ey") {
		t.Errorf("API request's Authorization = %q, want the ID token", auth)
	}
	a, err := e.c.actor(e.session(sc))
	if err != nil || a.User != "user:alice@example.com" || a.Name != "alice@example.com" {
		t.Errorf("actor %+v, %v", a, err)
	}
}

func (e *env) session(sc *http.Cookie) *session {
	var s session
	if err := e.c.seal.open(sessionCookie, sc.Value, &s); err != nil {
		e.t.Fatal(err)
	}
	return &s
}

func TestImpersonate(t *testing.T) {
	e := newEnv(t, AuthImpersonate)
	sc := e.signIn("", nil)
	e.api.mu.Lock()
	h := e.api.last
	e.api.mu.Unlock()
	if h.Get("Impersonate-User") != "alice@example.com" || strings.Join(h.Values("Impersonate-Group"), ",") != "oidc:shipjob-devs" {
		t.Errorf("impersonation headers: %v", h)
	}
	if s := e.session(sc); s.Who != "user:alice@example.com" {
		t.Errorf("who = %q", s.Who)
	}
	e.c.cfg.GroupsPrefix = ""
	for _, claims := range []map[string]any{{"email": "alice@example.com", "groups": []any{"system:masters"}},
		{"email": "system:admin"}} {
		if _, _, err := e.c.person(claims); err == nil || !strings.Contains(err.Error(), "system:") {
			t.Errorf("impersonating %v: %v", claims, err)
		}
	}
}

// TestBadCallbacks: every broken sign-in is refused, with no session.
func TestBadCallbacks(t *testing.T) {
	cases := map[string]struct {
		edit      func(map[string]any)
		state     string // "" = the right one
		noCookie  bool
		query     string
		verifier  string // a wrong PKCE challenge registered
		code      int
		replay    bool
		wantInMsg string
	}{
		"wrong state":      {state: "nope", code: 400, wantInMsg: "state"},
		"no auth cookie":   {noCookie: true, code: 400, wantInMsg: "No sign-in"},
		"bad nonce":        {edit: func(c map[string]any) { c["nonce"] = "other" }, code: 401, wantInMsg: "nonce"},
		"wrong audience":   {edit: func(c map[string]any) { c["aud"] = "someone-else" }, code: 401, wantInMsg: "not valid"},
		"wrong issuer":     {edit: func(c map[string]any) { c["iss"] = "https://evil.example" }, code: 401, wantInMsg: "not valid"},
		"expired":          {edit: func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }, code: 401, wantInMsg: "not valid"},
		"no email":         {edit: func(c map[string]any) { delete(c, "email") }, code: 401, wantInMsg: "claim"},
		"email unverified": {edit: func(c map[string]any) { c["email_verified"] = false }, code: 401, wantInMsg: "verified"},
		"provider error":   {query: "error=access_denied&error_description=no", code: 401, wantInMsg: "refused"},
		"PKCE mismatch":    {verifier: "wrong", code: 401, wantInMsg: "refused the code"},
		"replayed state":   {replay: true, code: 400, wantInMsg: "already used"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, AuthToken)
			ac, q := e.login("/")
			cl := e.p.claims(q.Get("nonce"), time.Minute)
			if tc.edit != nil {
				tc.edit(cl)
			}
			ch := q.Get("code_challenge")
			if tc.verifier != "" {
				ch = tc.verifier
			}
			e.p.mu.Lock()
			e.p.codes["c"] = grant{claims: cl, challenge: ch}
			e.p.codes["c2"] = grant{claims: cl, challenge: ch}
			e.p.mu.Unlock()
			state := q.Get("state")
			if tc.state != "" {
				state = tc.state
			}
			target := "/oauth2/callback?code=c&state=" + url.QueryEscape(state)
			if tc.query != "" {
				target = "/oauth2/callback?" + tc.query
			}
			var cookies []*http.Cookie
			if !tc.noCookie {
				cookies = []*http.Cookie{ac}
			}
			resp := e.do(e.h, "GET", target, cookies, nil, "")
			if tc.replay {
				if resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("first callback: %d", resp.StatusCode)
				}
				resp = e.do(e.h, "GET", strings.Replace(target, "code=c&", "code=c2&", 1), cookies, nil, "")
			}
			buf := new(strings.Builder)
			_, _ = bufCopy(buf, resp)
			if resp.StatusCode != tc.code || !strings.Contains(buf.String(), tc.wantInMsg) {
				t.Errorf("got %d %q, want %d with %q", resp.StatusCode, buf.String(), tc.code, tc.wantInMsg)
			}
			if sc := cookie(resp, sessionCookie); sc != nil && sc.Value != "" {
				t.Errorf("a session cookie was set: %+v", sc)
			}
		})
	}
}

func bufCopy(b *strings.Builder, resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	var n int64
	p := make([]byte, 4096)
	for {
		k, err := resp.Body.Read(p)
		b.Write(p[:k])
		n += int64(k)
		if err != nil {
			return n, nil
		}
	}
}

func TestNext(t *testing.T) {
	for in, want := range map[string]string{"/namespaces/a/jobs?x=1": "/namespaces/a/jobs?x=1", "//evil.example/": "/",
		"/\\evil.example": "/", "https://evil.example/": "/", "evil": "/", "": "/", "/ok\r\nSet-Cookie: x": "/",
		"/%2F%2Fevil": "/%2F%2Fevil"} {
		if got := localNext(in); got != want {
			t.Errorf("localNext(%q) = %q, want %q", in, got, want)
		}
	}
	e := newEnv(t, AuthToken)
	ac, q := e.login("//evil.example/x")
	e.p.mu.Lock()
	e.p.codes["c"] = grant{claims: e.p.claims(q.Get("nonce"), time.Minute), challenge: q.Get("code_challenge")}
	e.p.mu.Unlock()
	resp := e.do(e.h, "GET", "/oauth2/callback?code=c&state="+q.Get("state"), []*http.Cookie{ac}, nil, "")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Errorf("open redirect: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestLogout: signing out is CSRF-checked and ends the session on every
// replica.
func TestLogout(t *testing.T) {
	e := newEnv(t, AuthToken)
	replica := e.console(AuthToken).Handler()
	sc := e.signIn("", nil)
	if !e.signedIn(replica, sc) {
		t.Fatal("the other replica refuses the session")
	}
	csrf := e.session(sc).CSRF
	same := map[string]string{"Origin": consoleURL}
	for name, tc := range map[string]struct {
		hdr  map[string]string
		body string
	}{
		"no CSRF":      {hdr: same, body: "x=1"},
		"wrong CSRF":   {hdr: same, body: "_csrf=nope"},
		"cross-origin": {hdr: map[string]string{"Origin": "https://evil.example"}, body: "_csrf=" + csrf},
		"no origin":    {body: "_csrf=" + csrf},
	} {
		if resp := e.do(e.h, "POST", "/oauth2/logout", []*http.Cookie{sc}, tc.hdr, tc.body); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, resp.StatusCode)
		}
	}
	if !e.signedIn(e.h, sc) {
		t.Fatal("a refused sign-out ended the session")
	}
	resp := e.do(e.h, "POST", "/oauth2/logout", []*http.Cookie{sc}, same, "_csrf="+csrf)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signed-out" {
		t.Fatalf("logout: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if c := cookie(resp, sessionCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("logout kept the cookie: %+v", c)
	}
	if e.signedIn(e.h, sc) {
		t.Error("the replayed cookie still opens pages here")
	}
	e.now = e.now.Add(revokedTTL + time.Second) // the other replica's list is re-read
	if e.signedIn(replica, sc) {
		t.Error("the replayed cookie still opens pages on the other replica")
	}
}

// TestExpiry: an expired ID token without a refresh token, or a session
// past its max, is no session; with a refresh token it is renewed.
func TestExpiry(t *testing.T) {
	e := newEnv(t, AuthToken)
	sc := e.signIn("", nil)
	e.now = e.now.Add(2 * time.Minute)
	if e.signedIn(e.h, sc) {
		t.Error("expired ID token without refresh token: still signed in")
	}

	e = newEnv(t, AuthToken)
	sc = e.signIn("rt1", nil)
	e.p.mu.Lock()
	e.p.refresh["rt1"] = e.p.claims("", 10*time.Minute)
	e.p.mu.Unlock()
	e.now = e.now.Add(2 * time.Minute)
	resp := e.do(e.h, "GET", "/switch?ns=team", []*http.Cookie{sc}, nil, "")
	nc := cookie(resp, sessionCookie)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/namespaces/team/jobs" || nc == nil {
		t.Fatalf("refresh: %d → %q, cookie %v", resp.StatusCode, resp.Header.Get("Location"), nc)
	}
	if e.session(nc).Expiry <= e.session(sc).Expiry {
		t.Error("the refreshed session has the old expiry")
	}
	e.now = e.now.Add(time.Hour) // past SessionMax
	if e.signedIn(e.h, nc) {
		t.Error("past the session max: still signed in")
	}
}

func TestHostAndHealth(t *testing.T) {
	e := newEnv(t, AuthToken)
	r := httptest.NewRequest("GET", "https://evil.example/signin", nil)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Errorf("foreign Host: %d", w.Code)
	}
	r = httptest.NewRequest("GET", "http://10.0.0.7:8443/healthz", nil)
	w = httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Errorf("healthz: %d", w.Code)
	}
	resp := e.do(e.h, "GET", "/signin?next=/namespaces/a/jobs", nil, nil, "")
	buf := new(strings.Builder)
	_, _ = bufCopy(buf, resp)
	if resp.StatusCode != 200 || !strings.Contains(buf.String(), `href="/oauth2/login?next=%2Fnamespaces%2Fa%2Fjobs"`) ||
		resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("signin page: %d %s", resp.StatusCode, buf.String())
	}
}

func TestCheckURL(t *testing.T) {
	for in, ok := range map[string]bool{"https://console.example.com": true, "https://127.0.0.1:8443": true,
		"http://127.0.0.1:8443": true, "http://localhost:8443/": true, "http://console.example.com": false,
		"": false, "https://x.example/path": false, "https://x.example?q": false, "ftp://x.example": false,
		"https://u@x.example": false, "console.example.com": false} {
		if _, err := CheckURL(in); (err == nil) != ok {
			t.Errorf("CheckURL(%q): %v", in, err)
		}
	}
}
