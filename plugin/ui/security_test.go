package ui

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

const testHost = "127.0.0.1:4321"

func newTestServer(t *testing.T) *Server {
	t.Helper()
	s, err := NewServer(Config{Client: fake.NewClientset(), Engine: noEngine{}, Namespace: "team",
		WhoAmI: func(context.Context) string { return "user:test" }}, testHost)
	if err != nil {
		t.Fatal(err)
	}
	startSession(s)
	return s
}

// startSession starts s's session as a login would, leaving the login
// token unspent (tests set the cookie themselves).
func startSession(s *Server) {
	s.sess.started = s.sess.now()
	s.sess.seen = s.sess.started
}

func TestGuard(t *testing.T) {
	s := newTestServer(t)
	h := s.Handler()
	cookie := &http.Cookie{Name: s.sess.cookieName(), Value: s.sess.cookie}
	form := url.Values{csrfField: {s.sess.csrf}}.Encode()
	origin := "http://" + testHost
	cases := map[string]struct {
		method, path, host, body string
		cookie                   bool
		headers                  map[string]string
		code                     int
		want                     string
	}{
		"no session":             {method: "GET", path: "/namespaces/team/jobs", code: 401, want: "kubectl shipjob ui"},
		"wrong cookie":           {method: "GET", path: "/namespaces/team/jobs", headers: map[string]string{"Cookie": "shipjob_session_4321=nope"}, code: 401},
		"bad token":              {method: "GET", path: "/?token=nope", code: 401, want: "not valid"},
		"foreign Host":           {method: "GET", path: "/namespaces/team/jobs", host: "evil.example:4321", cookie: true, code: 403, want: "answers only to"},
		"localhost is foreign":   {method: "GET", path: "/", host: "localhost:4321", cookie: true, code: 403},
		"static without session": {method: "GET", path: "/static/app.css", code: 200},
		"static, foreign Host":   {method: "GET", path: "/static/app.css", host: "evil.example", code: 403},
		"home":                   {method: "GET", path: "/", cookie: true, code: 303},
		"POST without CSRF":      {method: "POST", path: "/namespaces/team/jobs/x/run", cookie: true, headers: map[string]string{"Origin": origin}, code: 403, want: "CSRF"},
		"POST wrong CSRF":        {method: "POST", path: "/namespaces/team/jobs/x/run", cookie: true, body: csrfField + "=nope", headers: map[string]string{"Origin": origin}, code: 403, want: "CSRF"},
		"POST cross-origin":      {method: "POST", path: "/namespaces/team/jobs/x/run", cookie: true, body: form, headers: map[string]string{"Origin": "http://evil.example"}, code: 403, want: "cross-origin"},
		"POST cross-site":        {method: "POST", path: "/namespaces/team/jobs/x/run", cookie: true, body: form, headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, code: 403, want: "cross-site"},
		"POST no origin at all":  {method: "POST", path: "/namespaces/team/jobs/x/run", cookie: true, body: form, code: 403, want: "Origin"},
		"POST without session":   {method: "POST", path: "/namespaces/team/jobs/x/run", body: form, headers: map[string]string{"Origin": origin}, code: 401},
		"POST same origin":       {method: "POST", path: "/namespaces/team/jobs/x/run", cookie: true, body: form, headers: map[string]string{"Origin": origin, "Sec-Fetch-Site": "same-origin"}, code: 404, want: "not found"},
		"CSRF header":            {method: "POST", path: "/namespaces/team/jobs/x/run", cookie: true, headers: map[string]string{"Sec-Fetch-Site": "same-origin", csrfHeader: s.sess.csrf}, code: 404},
		"PUT":                    {method: "PUT", path: "/namespaces/team/jobs/x", cookie: true, code: 405},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://"+testHost+tc.path, strings.NewReader(tc.body))
			if tc.host != "" {
				req.Host = tc.host
			}
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tc.cookie {
				req.AddCookie(cookie)
			}
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
				t.Fatalf("%s %s: %d, want %d with %q; body:\n%.500s", tc.method, tc.path, rec.Code, tc.code, tc.want, rec.Body.String())
			}
			csp := rec.Header().Get("Content-Security-Policy")
			if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
				t.Fatalf("CSP %q", csp)
			}
			if rec.Header().Get("Access-Control-Allow-Origin") != "" {
				t.Fatalf("CORS header set")
			}
		})
	}
}

func TestTokenExchange(t *testing.T) {
	s := newTestServer(t)
	h := s.Handler()
	get := func(u string, c *http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", u, nil)
		if c != nil {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	login, _ := url.Parse(s.LoginURL())
	if login.Host != testHost || login.Path != "/" {
		t.Fatalf("login URL %s", login)
	}
	rec := get(strings.Replace(s.LoginURL(), "/?", "/namespaces/team/jobs?a=1&", 1), nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/namespaces/team/jobs?a=1" {
		t.Fatalf("exchange: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies: %v", cookies)
	}
	c := cookies[0]
	if c.Name != "shipjob_session_4321" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Value == s.sess.loginToken {
		t.Fatalf("cookie: %+v", c)
	}
	if rec := get("http://"+testHost+"/", c); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/namespaces/team/jobs" {
		t.Fatalf("with the cookie: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := get(s.LoginURL(), nil); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "already used") {
		t.Fatalf("second use of the link: %d", rec.Code)
	}
}

func TestCheckLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{"127.0.0.1:0": true, "[::1]:8080": true, "0.0.0.0:80": false,
		":8080": false, "localhost:80": false, "192.168.1.2:80": false, "nonsense": false} {
		if err := checkLoopback(addr); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v", addr, err)
		}
	}
}

// noEngine is an Engine for tests that trigger nothing.
type noEngine struct{}

func (noEngine) Trigger(context.Context, run.Request) (*run.Result, error) {
	return nil, errors.New("no engine in this test")
}

func (noEngine) DeleteJob(context.Context, string, string, run.DeleteJobOptions) (run.DeleteJobResult, error) {
	return run.DeleteJobResult{}, errors.New("no engine in this test")
}
