package e2e

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// TestUISecurity checks the real server over HTTP: 401 without the
// session, 403 for a foreign Host header (DNS rebinding) and for a POST
// without the CSRF token or from another origin; the one-time link.
func TestUISecurity(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "j")
	ui := startUI(t, "-n", ns)
	noRedirect := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, path, host string, cookie *http.Cookie, body string, hdr map[string]string) (int, string, *http.Response) {
		t.Helper()
		req, err := http.NewRequest(method, ui.Base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp
	}
	if code, body, _ := send("GET", "/namespaces/"+ns+"/jobs", "", nil, "", nil); code != 401 || !strings.Contains(body, "kubectl shipjob ui") {
		t.Fatalf("no session: %d %.300s", code, body)
	}
	login, _ := url.Parse(ui.Login)
	if code, _, _ := send("GET", "/?"+login.RawQuery, "rebind.example:80", nil, "", nil); code != 403 {
		t.Fatalf("foreign Host with the token: %d", code)
	}
	code, _, resp := send("GET", "/?"+login.RawQuery, "", nil, "", nil)
	if code != 303 || resp.Header.Get("Location") != "/" || len(resp.Cookies()) != 1 {
		t.Fatalf("token exchange: %d %q %v", code, resp.Header.Get("Location"), resp.Cookies())
	}
	c := resp.Cookies()[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie %+v", c)
	}
	if code, _, _ := send("GET", "/?"+login.RawQuery, "", nil, "", nil); code != 401 {
		t.Fatalf("second use of the link: %d", code)
	}
	code, body, resp := send("GET", "/namespaces/"+ns+"/jobs/j/run", "", c, "", nil)
	if code != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("run tab with the session: %d, CSP %q", code, resp.Header.Get("Content-Security-Policy"))
	}
	m := regexp.MustCompile(`name="_csrf" value="([0-9a-f]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in the form")
	}
	if code, _, _ := send("GET", "/namespaces/"+ns+"/jobs", "evil.example", c, "", nil); code != 403 {
		t.Fatalf("foreign Host: %d", code)
	}
	origin := map[string]string{"Origin": ui.Base}
	before := objectVersions(t, ns)
	if code, body, _ := send("POST", "/namespaces/"+ns+"/jobs/j/run", "", c, "x=1", origin); code != 403 || !strings.Contains(body, "CSRF") {
		t.Fatalf("POST without CSRF: %d %s", code, body)
	}
	if code, _, _ := send("POST", "/namespaces/"+ns+"/jobs/j/run", "", c, "_csrf="+m[1], map[string]string{"Origin": "http://evil.example"}); code != 403 {
		t.Fatalf("cross-origin POST: %d", code)
	}
	if after := objectVersions(t, ns); after != before {
		t.Fatalf("refused POSTs wrote:\n%s\n%s", before, after)
	}
	if code, _, resp := send("POST", "/namespaces/"+ns+"/jobs/j/run", "", c, "_csrf="+m[1], origin); code != 303 || !strings.Contains(resp.Header.Get("Location"), "/runs/j-") {
		t.Fatalf("POST with CSRF, same origin: %d %q", code, resp.Header.Get("Location"))
	}
}

// TestUILimitedUser: a user whose Role covers one namespace works there
// and reads a clear Forbidden message for another one.
func TestUILimitedUser(t *testing.T) {
	t.Parallel()
	own := cluster.Namespace(t, true)
	other := cluster.Namespace(t, false)
	mustShipjob(t, "create", "mine", "--image", "example.com/acme/sim:1", "--context", cluster.LimitedContext, "-n", own)
	ui := startUI(t, "--context", cluster.LimitedContext, "-n", own)
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(ui.Login))
	waitJS(t, ctx, 10*time.Second, "own jobs", "document.querySelector('a.strong')?.textContent === 'mine'")
	do(t, ctx, chromedp.Navigate(ui.Base+"/namespaces/"+other+"/jobs"))
	waitJS(t, ctx, 10*time.Second, "a readable Forbidden", "document.querySelector('h1')?.textContent === 'Forbidden'")
	text := pageText(ctx)
	if !strings.Contains(text, "may not do this in namespace "+other) || !strings.Contains(text, "forbidden") {
		t.Fatalf("forbidden page: %s", text)
	}
	screenshot(t, ctx, "forbidden")
}
