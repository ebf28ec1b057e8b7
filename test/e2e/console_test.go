package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
	"github.com/shipjob/kubectl-shipjob/test/oidcprovider"
)

const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
)

// consoleServer is a `hooks serve --console` replica; Base is its
// --console-url (plain http on loopback).
type consoleServer struct {
	*hookServer
	Base string
}

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startConsole starts a replica serving ns with the console in auth mode
// (token or impersonate), signed in through the shared test provider.
func startConsole(t *testing.T, ns, auth string, extra ...string) *consoleServer {
	t.Helper()
	idp := cluster.OIDC()
	port := strconv.Itoa(freeLoopbackPort(t))
	base := "http://127.0.0.1:" + port
	args := []string{"-n", ns, "--notifications=false", "--schedules=false", "--leader-election=false",
		"--console", "--console-listen", "127.0.0.1:" + port, "--console-url", base,
		"--oidc-issuer-url", idp.Issuer, "--oidc-client-id", oidcprovider.ClientID,
		"--oidc-client-secret-file", writeTemp(t, oidcprovider.ClientSecret+"\n"),
		"--oidc-ca-file", writeTemp(t, string(idp.CAPEM)), "--console-auth", auth}
	s := startHookServer(t, append(args, extra...)...)
	eventually(t, 20*time.Second, "console /healthz", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return &consoleServer{hookServer: s, Base: base}
}

// grantConsoleRBAC: alice edits ns (what kubectl-shipjob needs), bob only
// reads it; neither has anything elsewhere.
func grantConsoleRBAC(t *testing.T, ns string) {
	t.Helper()
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	read := []string{"get", "list", "watch"}
	roles := map[string][]rbacv1.PolicyRule{
		"console-edit": cluster.LimitedRules,
		"console-view": {
			{APIGroups: []string{""}, Resources: []string{"secrets", "configmaps", "pods", "pods/log", "events"}, Verbs: read},
			{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: read},
			{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: read},
			{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: read},
		},
	}
	for role, rules := range roles {
		if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: role}, Rules: rules}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for user, role := range map[string]string{alice: "console-edit", bob: "console-view"} {
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role},
			Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}}}
		if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// newConsoleBrowser is a browser that trusts the test provider's
// certificate, by its public key, and nothing else extra.
func newConsoleBrowser(t *testing.T) context.Context {
	t.Helper()
	sum := sha256.Sum256(cluster.OIDC().CA.RawSubjectPublicKeyInfo)
	return newBrowser(t, chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(sum[:])))
}

// browserSignIn opens path on the console, follows the sign-in page to the
// provider's login form, signs in as user and waits to be back at path.
func browserSignIn(t *testing.T, ctx context.Context, c *consoleServer, path, user, shot string) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(c.Base+path))
	waitJS(t, ctx, 10*time.Second, "the sign-in page", "location.pathname === '/signin' && !!document.querySelector('#sign-in')")
	if shot != "" {
		screenshot(t, ctx, shot)
	}
	click(t, ctx, "#sign-in")
	waitJS(t, ctx, 15*time.Second, "the provider's login form",
		"location.origin === "+jsString(cluster.OIDC().Issuer)+" && !!document.querySelector('#username')")
	setValue(t, ctx, "#username", user)
	setValue(t, ctx, "#password", oidcprovider.Password)
	click(t, ctx, "#submit")
	waitJS(t, ctx, 15*time.Second, "back at "+path,
		"location.origin === "+jsString(c.Base)+" && location.pathname === "+jsString(path))
	waitJS(t, ctx, 10*time.Second, user+" in the header", "document.querySelector('#user-name')?.textContent.trim() === "+jsString(user))
}

// httpPerson is a person's HTTP client for the console: a cookie jar, the
// provider's CA trusted, redirects followed.
type httpPerson struct {
	hc *http.Client
}

func newHTTPPerson(t *testing.T) *httpPerson {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := cluster.OIDC().HTTPClient()
	hc.Jar, hc.CheckRedirect = jar, nil
	return &httpPerson{hc: hc}
}

// signIn walks /oauth2/login?next=path → the provider's form → the
// callback, as a browser would, and returns the console's session cookie.
func (p *httpPerson) signIn(t *testing.T, c *consoleServer, path, user string) *http.Cookie {
	t.Helper()
	resp, err := p.hc.Get(c.Base + "/oauth2/login?next=" + url.QueryEscape(path))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	form := resp.Request.URL
	if resp.StatusCode != 200 || form.Path != "/login" || form.Query().Get("id") == "" {
		t.Fatalf("sign-in went to %s (%d), want the provider's form", form, resp.StatusCode)
	}
	resp, err = p.hc.PostForm(cluster.OIDC().Issuer+"/login",
		url.Values{"id": {form.Query().Get("id")}, "username": {user}, "password": {oidcprovider.Password}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.String() != c.Base+path {
		t.Fatalf("after sign-in at %s (%d), want %s: %.300s", resp.Request.URL, resp.StatusCode, c.Base+path, body)
	}
	u, _ := url.Parse(c.Base)
	for _, ck := range p.hc.Jar.Cookies(u) {
		if ck.Name == "shipjob_console" {
			return ck
		}
	}
	t.Fatal("no shipjob_console cookie after sign-in")
	return nil
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// get fetches path on c with only cookie (no jar, no redirects): the status,
// the Location and the body.
func consoleGet(t *testing.T, c *consoleServer, path string, cookie *http.Cookie) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.Base+path, nil)
	if cookie != nil {
		req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// TestConsole signs two people with different RBAC in through the real
// provider, in both of the console's modes: each sees what their RBAC
// allows, a run records who triggered it, logout ends the session on
// both replicas, an expired session sends the person to /signin. Not
// parallel: it shortens the shared provider's ID token lifetime for a
// moment.
func TestConsole(t *testing.T) {
	for _, mode := range []string{"token", "impersonate"} {
		t.Run(mode, func(t *testing.T) { testConsole(t, mode) })
	}
}

func testConsole(t *testing.T, mode string) {
	nsA := cluster.Namespace(t, false)
	nsB := cluster.Namespace(t, false)
	grantConsoleRBAC(t, nsA)
	createSimJob(t, nsA, "migrate")
	createSimJob(t, nsB, "secret-job")
	// Two replicas sharing the session Secret in the chart's namespace: they
	// run as the ServiceAccount of charts/shipjob-hooks installed with the
	// console in this mode; the chart's RBAC (in impersonate mode, its
	// impersonation ClusterRole) is all they have.
	idp := cluster.OIDC()
	home := cluster.Namespace(t, false) // the chart's own namespace: the server keeps its session Secret there
	t.Setenv("POD_NAMESPACE", home)
	user, token := installHookChart(t, home, "server.namespaces={"+nsA+"}", "notifications.enabled=false",
		"console.enabled=true", "console.auth="+mode, "console.url=https://console.example.com",
		"console.tls.secretName=console-tls", "oidc.issuerURL="+idp.Issuer, "oidc.clientID="+oidcprovider.ClientID,
		"oidc.clientSecret.secretName=console-oidc")
	want := map[string]string{"token": "no", "impersonate": "yes"}[mode]
	if can := cluster.Run(t, "", "kubectl", "auth", "can-i", "impersonate", "users", "--as", user); strings.TrimSpace(can.Stdout) != want {
		t.Fatalf("may the chart's ServiceAccount impersonate users in %s mode: %q, want %s", mode, can.Stdout, want)
	}
	as := []string{"--token", token}
	r1, r2 := startConsole(t, nsA, mode, as...), startConsole(t, nsA, mode, as...)
	cluster.Kubectl(t, "-n", home, "get", "secret", "shipjob-console-session")
	jobs := func(ns string) string { return "/namespaces/" + ns + "/jobs" }
	shots := func(name string) string {
		if mode == "token" {
			return name
		}
		return ""
	}

	// Alice: her jobs, a Forbidden page in B, a run recorded as hers.
	ctx := newConsoleBrowser(t)
	browserSignIn(t, ctx, r1, jobs(nsA), alice, shots("console-signin"))
	waitJS(t, ctx, 10*time.Second, "the job migrate", "document.querySelector('a.strong')?.textContent === 'migrate'")
	if shot := shots("console-jobs"); shot != "" {
		screenshot(t, ctx, shot)
	}
	do(t, ctx, chromedp.Navigate(r1.Base+jobs(nsB)))
	waitJS(t, ctx, 10*time.Second, "Forbidden in B", "document.querySelector('h1')?.textContent === 'Forbidden'")
	if text := pageText(ctx); strings.Contains(text, "secret-job") {
		t.Fatalf("alice sees B's job: %s", text)
	}
	do(t, ctx, chromedp.Navigate(r1.Base+"/namespaces/"+nsA+"/jobs/migrate/run"))
	waitJS(t, ctx, 10*time.Second, "the Run button", "!!document.querySelector('#run')")
	click(t, ctx, "#run")
	waitJS(t, ctx, 20*time.Second, "the run's page", "location.pathname.startsWith('/namespaces/"+nsA+"/runs/migrate-')")
	out := cluster.Kubectl(t, "get", "job", "-n", nsA, "-l", "shipjob.dev/kind=run,shipjob.dev/job=migrate", "-o", "yaml")
	if !strings.Contains(out, "shipjob.dev/triggered-by: user:"+alice) {
		t.Fatalf("the run does not record alice:\n%s", out)
	}
	click(t, ctx, "#sign-out")
	waitJS(t, ctx, 10*time.Second, "the signed-out page", "location.pathname === '/signed-out'")
	do(t, ctx, chromedp.Navigate(r1.Base+jobs(nsA)))
	waitJS(t, ctx, 10*time.Second, "the sign-in page after sign-out", "location.pathname === '/signin'")

	// Bob: reads A, B is Forbidden, his Run is refused and makes nothing.
	ctx = newConsoleBrowser(t)
	browserSignIn(t, ctx, r2, jobs(nsA), bob, "")
	waitJS(t, ctx, 10*time.Second, "the job migrate", "document.querySelector('a.strong')?.textContent === 'migrate'")
	do(t, ctx, chromedp.Navigate(r2.Base+jobs(nsB)))
	waitJS(t, ctx, 10*time.Second, "Forbidden in B", "document.querySelector('h1')?.textContent === 'Forbidden'")
	do(t, ctx, chromedp.Navigate(r2.Base+"/namespaces/"+nsA+"/jobs/migrate/run"))
	// What bob may do decides what he sees: no Run button for a viewer.
	waitJS(t, ctx, 10*time.Second, "the Run tab", "document.readyState === 'complete' && !!document.querySelector('main')")
	if eval[bool](t, ctx, "!!document.querySelector('#run')") {
		t.Fatal("bob, who may only read A, is offered a Run button")
	}
	if runs := runJobs(t, nsA, "migrate"); len(runs) != 1 {
		t.Fatalf("runs after bob's attempt: %v, want alice's only", runs)
	}

	// Logout on replica 1 ends the session on replica 2 too.
	p := newHTTPPerson(t)
	cookie := p.signIn(t, r1, jobs(nsA), alice)
	if code, loc, body := consoleGet(t, r2, jobs(nsA), cookie); code != 200 || !strings.Contains(body, alice) {
		t.Fatalf("replica 2 with alice's cookie: %d %s", code, loc)
	}
	_, _, page := consoleGet(t, r1, jobs(nsA), cookie)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no sign-out form on the page: %.500s", page)
	}
	req, _ := http.NewRequest(http.MethodPost, r1.Base+"/oauth2/logout", strings.NewReader(url.Values{"_csrf": {m[1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", r1.Base) // what a browser's form post says
	resp, err := p.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/signed-out" {
		t.Fatalf("logout ended at %s (%d)", resp.Request.URL, resp.StatusCode)
	}
	signedOut := func(r *consoleServer) bool {
		code, loc, _ := consoleGet(t, r, jobs(nsA), cookie)
		return code == http.StatusSeeOther && strings.HasPrefix(loc, "/signin")
	}
	if !signedOut(r1) {
		t.Errorf("replica 1 took the cookie it signed out")
	}
	// Replica 2 re-reads the session Secret's revocation list every 2 s.
	eventually(t, 5*time.Second, "replica 2 to refuse the signed-out cookie", func() bool { return signedOut(r2) })

	// An expired session (ID token expired, no refresh token) is no session.
	restore := cluster.OIDC().SetIDTokenLifetime(5 * time.Second)
	cookie = newHTTPPerson(t).signIn(t, r1, jobs(nsA), bob)
	restore()
	if code, _, _ := consoleGet(t, r2, jobs(nsA), cookie); code != 200 {
		t.Fatalf("fresh session refused: %d", code)
	}
	time.Sleep(6 * time.Second)
	for i, r := range []*consoleServer{r1, r2} {
		code, loc, _ := consoleGet(t, r, jobs(nsA), cookie)
		if u, err := url.Parse(loc); code != http.StatusSeeOther || err != nil || u.Path != "/signin" || u.Query().Get("next") != jobs(nsA) {
			t.Errorf("replica %d with an expired session: %d %s, want 303 to /signin?next=…", i+1, code, loc)
		}
	}
}

// TestConsoleRefresh: with offline_access among --oidc-scopes, a session
// whose ID token expired is renewed with the refresh token, and goes on as
// the same person. Not parallel (it shortens the provider's ID tokens).
func TestConsoleRefresh(t *testing.T) {
	ns := cluster.Namespace(t, false)
	grantConsoleRBAC(t, ns)
	createSimJob(t, ns, "migrate")
	c := startConsole(t, ns, "token", "--oidc-scopes", "openid,profile,email,groups,offline_access")
	path := "/namespaces/" + ns + "/jobs"
	restore := cluster.OIDC().SetIDTokenLifetime(4 * time.Second)
	cookie := newHTTPPerson(t).signIn(t, c, path, bob)
	restore()
	time.Sleep(5 * time.Second)
	code, loc, body := consoleGet(t, c, path, cookie)
	if code != http.StatusOK || !strings.Contains(body, bob) || !strings.Contains(body, "migrate") {
		t.Fatalf("after the ID token expired, with a refresh token: %d %s, want the page as bob", code, loc)
	}
}

// TestConsoleSessionMax: --console-session-max ends a session whatever its
// tokens say.
func TestConsoleSessionMax(t *testing.T) {
	ns := cluster.Namespace(t, false)
	grantConsoleRBAC(t, ns)
	c := startConsole(t, ns, "token", "--console-session-max", "4s")
	path := "/namespaces/" + ns + "/jobs"
	cookie := newHTTPPerson(t).signIn(t, c, path, alice)
	if code, _, _ := consoleGet(t, c, path, cookie); code != http.StatusOK {
		t.Fatalf("fresh session: %d", code)
	}
	time.Sleep(5 * time.Second)
	if code, loc, _ := consoleGet(t, c, path, cookie); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin") {
		t.Fatalf("past --console-session-max: %d %s, want 303 to /signin", code, loc)
	}
}

// TestConsoleBadFlags: a console that cannot work safely does not start:
// one line naming the flag, exit non-zero.
func TestConsoleBadFlags(t *testing.T) {
	idp := cluster.OIDC()
	secret := writeTemp(t, oidcprovider.ClientSecret)
	ok := map[string]string{"--console-url": "http://127.0.0.1:18443", "--console-listen": "127.0.0.1:18443",
		"--oidc-issuer-url": idp.Issuer, "--oidc-client-id": oidcprovider.ClientID, "--oidc-client-secret-file": secret}
	for _, tc := range []struct{ name, flag, value string }{
		{"no console url", "--console-url", ""},
		{"plain http off loopback", "--console-url", "http://console.example.com"},
		{"http issuer", "--oidc-issuer-url", "http://127.0.0.1:1"},
		{"no client id", "--oidc-client-id", ""},
		{"missing secret file", "--oidc-client-secret-file", "/nonexistent/secret"},
		{"unknown auth mode", "--console-auth", "basic"},
		{"bad session secret name", "--console-session-secret", "Not_A_Name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"shipjob", "hooks", "serve", "-n", "default", "--listen", "127.0.0.1:0", "--console"}
			for f, v := range ok {
				if f != tc.flag {
					args = append(args, f+"="+v)
				}
			}
			args = append(args, tc.flag+"="+tc.value)
			res := cluster.Run(t, "", "kubectl", args...)
			lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
			if res.Code == 0 || len(lines) != 1 || !strings.Contains(lines[0], tc.flag) {
				t.Fatalf("exit %d, stderr %q: want a one-line error naming %s", res.Code, res.Stderr, tc.flag)
			}
		})
	}
	// Nothing written: no session Secret was made.
	if res := cluster.Run(t, "", "kubectl", "-n", "default", "get", "secrets", "-o", "name"); res.Code != 0 || strings.Contains(res.Stdout, "console") {
		t.Fatalf("secrets in default after refused starts: %d %s %s", res.Code, res.Stdout, res.Stderr)
	}
}
