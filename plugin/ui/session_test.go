package ui

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
)

// login spends s's token and returns the session cookie.
func login(t *testing.T, s *Server, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://"+testHost+target, nil))
	return rec
}

// TestSessionExpires (review N11): a session ends after an hour without a
// request and twelve hours after it started, on the session's clock.
func TestSessionExpires(t *testing.T) {
	for name, tc := range map[string]struct {
		steps   []time.Duration // requests, as time since the previous one
		wantErr string          // of the last request
	}{
		"active":           {steps: []time.Duration{59 * time.Minute, 59 * time.Minute, 59 * time.Minute}},
		"idle":             {steps: []time.Duration{30 * time.Minute, time.Hour + time.Second}, wantErr: "sessions end after 1h0m0s without a request"},
		"idle, first":      {steps: []time.Duration{time.Hour + time.Second}, wantErr: "sessions end after 1h0m0s without a request"},
		"absolute":         {steps: append(repeat(24, 30*time.Minute), time.Second), wantErr: "sessions end 12h0m0s after they start"},
		"absolute at 12 h": {steps: repeat(24, 30*time.Minute)},
	} {
		t.Run(name, func(t *testing.T) {
			s := newTestServer(t)
			now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
			s.sess.now = func() time.Time { return now }
			h := s.Handler()
			rec := login(t, s, h, strings.TrimPrefix(s.LoginURL(), "http://"+testHost))
			cookie := rec.Result().Cookies()[0]
			for i, d := range tc.steps {
				now = now.Add(d)
				r := httptest.NewRequest("GET", "http://"+testHost+"/namespaces/team/jobs/none/delete", nil)
				r.AddCookie(cookie)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				last := i == len(tc.steps)-1
				expired := rec.Code == http.StatusUnauthorized
				if last && tc.wantErr != "" {
					if !expired || !strings.Contains(rec.Body.String(), tc.wantErr) {
						t.Fatalf("request %d: %d, want 401 %q", i, rec.Code, tc.wantErr)
					}
				} else if expired {
					t.Fatalf("request %d (%s after the previous one): 401 %s", i, d, rec.Body)
				}
			}
		})
	}
}

func repeat(n int, d time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// TestCookiePerPort: servers on two ports of one host use two cookie
// names (browsers share cookies across ports).
func TestCookiePerPort(t *testing.T) {
	a, err := newSession("127.0.0.1:4321")
	if err != nil {
		t.Fatal(err)
	}
	b, err := newSession("127.0.0.1:8765")
	if err != nil {
		t.Fatal(err)
	}
	if a.cookieName() != "shipjob_session_4321" || b.cookieName() != "shipjob_session_8765" {
		t.Fatalf("cookie names %q, %q", a.cookieName(), b.cookieName())
	}
}

// TestLoginRedirectStaysOnOrigin: the redirect after the login exchange
// is a path of this origin, whatever path the link had.
func TestLoginRedirectStaysOnOrigin(t *testing.T) {
	for path, want := range map[string]string{
		"//evil.example":         "/evil.example",
		"//evil.example/x":       "/evil.example/x",
		"/\\evil.example":        "/evil.example",
		"/./..//evil.example/":   "/evil.example",
		"/namespaces/team/jobs/": "/namespaces/team/jobs",
	} {
		s := newTestServer(t)
		r := httptest.NewRequest("GET", "http://"+testHost+"/?token="+s.sess.loginToken, nil)
		r.URL.Path = path // as a request line "GET //evil.example?token=… HTTP/1.1" gives it
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, r)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
			t.Errorf("login at %q: %d to %q, want %q", path, rec.Code, rec.Header().Get("Location"), want)
		}
	}
}

// TestLoginFromFileIsSameSite: a login opened from the login file
// (file://, Sec-Fetch-Site: cross-site) answers with a page of this
// origin that moves on, so the SameSite=Strict cookie is sent next.
func TestLoginFromFileIsSameSite(t *testing.T) {
	s := newTestServer(t)
	r := httptest.NewRequest("GET", "http://"+testHost+"/?token="+s.sess.loginToken, nil)
	r.URL.Path = "//evil.example"
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, r)
	if rec.Code != http.StatusOK || len(rec.Result().Cookies()) != 1 ||
		!strings.Contains(rec.Body.String(), `<meta http-equiv="refresh" content="0;url=/evil.example">`) {
		t.Fatalf("login from the file: %d %s", rec.Code, rec.Body)
	}
}

// TestServeOpensALoginFile (review N11): the browser is opened on a
// private file's path, never on the token; the file (0600, in a 0700 dir)
// sends it to the login URL and is removed once the token is spent. The
// first line printed then has no token.
func TestServeOpensALoginFile(t *testing.T) {
	var mu sync.Mutex
	var opened string
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, Config{Client: fake.NewClientset(), Engine: noEngine{}, Namespace: "team"}, Options{
			Listen: "127.0.0.1:0", Out: pw,
			Open: func(path string) error { mu.Lock(); opened = path; mu.Unlock(); return nil }})
	}()
	defer func() { cancel(); <-done }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	path := opened
	mu.Unlock()
	if strings.Contains(line, "token") || !strings.HasPrefix(line, "Opened http://127.0.0.1:") {
		t.Fatalf("first line %q", line)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("login file %s: %v %v", path, fi, err)
	}
	di, err := os.Stat(strings.TrimSuffix(path, "/login.html"))
	if err != nil || di.Mode().Perm() != 0o700 {
		t.Fatalf("login dir: %v %v", di, err)
	}
	b, _ := os.ReadFile(path)
	i := strings.Index(string(b), "url=http://")
	if strings.Contains(path, "token") || i < 0 {
		t.Fatalf("path %s, file:\n%s", path, b)
	}
	u := strings.SplitN(string(b)[i+4:], `"`, 2)[0]
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(strings.ReplaceAll(u, "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login with the file's URL: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(path); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("login file %s still there after the login", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
