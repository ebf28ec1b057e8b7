package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
	"github.com/shipjob/kubectl-shipjob/test/oidcprovider"
)

// TestConsoleSignInOverHTTP: the real binary's console, the real provider
// and API server, walked by an HTTP client (no browser): sign in through the
// provider's form, the Jobs page is served as alice (her name, her
// namespace), a run she triggers records her as its trigger (made with her
// credentials: her SelfSubjectReview), sign out ends the session; with her
// ID token as credentials, and impersonated by the server.
func TestConsoleSignInOverHTTP(t *testing.T) {
	for _, auth := range []string{"token", "impersonate"} {
		t.Run(auth, func(t *testing.T) { consoleSignInOverHTTP(t, auth) })
	}
}

func consoleSignInOverHTTP(t *testing.T, auth string) {
	idp := cluster.OIDC()
	ns := cluster.Namespace(t, false)
	if res := cluster.Run(t, "", "kubectl", "create", "rolebinding", "alice-edit", "--clusterrole=edit",
		"--user=alice@example.com", "-n", ns); res.Code != 0 {
		t.Fatalf("rolebinding: %s", res.Stderr)
	}
	createSimJob(t, ns, "smoke")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	secret, ca := filepath.Join(dir, "secret"), filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(secret, []byte(oidcprovider.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ca, idp.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	startHookServer(t, "-n", ns, "--notifications=false", "--schedules=false", "--console", "--console-listen", addr,
		"--console-url", base, "--oidc-issuer-url", idp.Issuer, "--oidc-client-id", oidcprovider.ClientID,
		"--oidc-client-secret-file", secret, "--oidc-ca-file", ca, "--console-auth", auth)

	pool := x509.NewCertPool()
	pool.AddCert(idp.CA)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(u string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	eventually(t, 20*time.Second, "console listening", func() bool {
		resp, err := c.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	jobs := base + "/namespaces/" + ns + "/jobs"
	if resp, body := get(jobs); resp.Request.URL.Path != "/signin" || !strings.Contains(body, "/oauth2/login?next=") {
		t.Fatalf("without a session: %s %d\n%s", resp.Request.URL, resp.StatusCode, body)
	}
	resp, _ := get(base + "/oauth2/login?next=" + url.QueryEscape("/namespaces/"+ns+"/jobs"))
	id := resp.Request.URL.Query().Get("id")
	if resp.StatusCode != http.StatusOK || id == "" {
		t.Fatalf("provider login page: %s %d", resp.Request.URL, resp.StatusCode)
	}
	login := resp.Request.URL.ResolveReference(&url.URL{Path: "/login"}).String()
	resp, err = c.PostForm(login, url.Values{"id": {id}, "username": {"alice@example.com"}, "password": {oidcprovider.Password}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != jobs || !strings.Contains(body, "alice@example.com") ||
		!strings.Contains(body, "Sign out") {
		t.Fatalf("after sign-in: %s %d\n%s", resp.Request.URL, resp.StatusCode, body)
	}
	m := regexp.MustCompile(`name="_csrf" value="([0-9a-f]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the page")
	}
	post := func(path string, form url.Values) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp = post("/namespaces/"+ns+"/jobs/smoke/run", url.Values{"_csrf": {m[1]}})
	if !strings.HasPrefix(resp.Request.URL.Path, "/namespaces/"+ns+"/runs/smoke-") {
		t.Fatalf("run: %s %d", resp.Request.URL, resp.StatusCode)
	}
	runs := runJobs(t, ns, "smoke")
	if len(runs) != 1 {
		t.Fatalf("runs %v, want one", runs)
	}
	if by := getJob(t, ns, runs[0]).Annotations["shipjob.dev/triggered-by"]; by != "user:alice@example.com" {
		t.Errorf("triggered-by %q, want user:alice@example.com", by)
	}
	req, _ := http.NewRequest("POST", base+"/oauth2/logout", strings.NewReader(url.Values{"_csrf": {m[1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/signed-out" || resp.StatusCode != http.StatusOK {
		t.Fatalf("logout: %s %d", resp.Request.URL, resp.StatusCode)
	}
	if resp, body := get(jobs); resp.Request.URL.Path != "/signin" {
		t.Fatalf("after sign-out: %s %d\n%s", resp.Request.URL, resp.StatusCode, fmt.Sprint(len(body)))
	}
}
