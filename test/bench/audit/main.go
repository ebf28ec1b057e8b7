// Command audit has Lighthouse audit every page of `kubectl shipjob ui`
// (issue 22): it fills a namespace of the local cluster with a few jobs
// (typed and secret parameters, a schedule, runs that succeeded, failed and
// are running), starts the UI, logs in as a browser does (the one-time URL
// exchanged for the session cookie), runs Lighthouse on each page with that
// cookie and prints a Markdown table: page, performance, accessibility,
// best practices and the ids of the audits that did not pass.
//
//	make audit-ui
//	go run ./test/bench/audit -state .cache/cluster-state -plugin bin/kubectl-shipjob -lighthouse .cache/tools/lighthouse-12.2.3
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/bench/benchkit"
	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

func main() {
	state := flag.String("state", ".cache/cluster-state", "state dir of a cluster started by make cluster-up")
	plugin := flag.String("plugin", "bin/kubectl-shipjob", "kubectl-shipjob binary under test")
	lh := flag.String("lighthouse", ".cache/tools/lighthouse-12.2.3", "directory where lighthouse is installed with npm")
	chrome := flag.String("chrome", "", "chromium binary (default: chromium on PATH)")
	only := flag.String("only", "", "audit only the pages whose name contains this")
	flag.Parse()
	if err := run(context.Background(), *state, *plugin, *lh, *chrome, *only); err != nil {
		fmt.Fprintln(os.Stderr, "audit:", err)
		os.Exit(1)
	}
}

// target is one audited page: its name in the table, its path and
// whether it is fetched with the session cookie.
type target struct {
	name, path string
	anonymous  bool
	limited    bool // served by the UI started with the namespace-limited context
	status     bool // an error page: audited through as200 (Lighthouse refuses a 4xx document)
}

func run(ctx context.Context, state, plugin, lh, chrome, only string) error {
	c, plugin, err := benchkit.Running(state, plugin)
	if err != nil {
		return err
	}
	if chrome == "" {
		if chrome, err = exec.LookPath("chromium"); err != nil {
			return fmt.Errorf("chromium not found (apt-get install -y chromium): %w", err)
		}
	}
	lhBin := filepath.Join(lh, "node_modules", ".bin", "lighthouse")
	if _, err := os.Stat(lhBin); err != nil {
		return fmt.Errorf("lighthouse not installed in %s (make audit-ui installs it): %w", lh, err)
	}
	ns := fmt.Sprintf("audit-%d", time.Now().Unix())
	if err := c.CreateNamespace(ctx, ns); err != nil {
		return err
	}
	cs, err := c.Client()
	if err != nil {
		return err
	}
	runs, err := fill(ctx, cs, c.Kubeconfig, plugin, ns)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "namespace %s filled\n", ns)

	uictx, stop := context.WithCancel(ctx)
	defer stop()
	admin, err := startUI(uictx, plugin, c.Kubeconfig, "-n", ns)
	if err != nil {
		return err
	}
	defer admin.stop()
	limited, err := startUI(uictx, plugin, c.Kubeconfig, "--context", cluster.LimitedContext, "-n", cluster.LimitedNamespace)
	if err != nil {
		return err
	}
	defer limited.stop()
	return auditAll(ctx, pages(ns, runs), admin, limited, lhBin, chrome, only, filepath.Join(os.TempDir(), ns))
}

// pages are the audited pages of namespace ns.
func pages(ns string, runs runNames) []target {
	nsp := "/namespaces/" + ns
	return []target{
		{name: "Jobs", path: nsp + "/jobs"},
		{name: "Job: Runs tab", path: nsp + "/jobs/report"},
		{name: "Job: Runs tab (schedule)", path: nsp + "/jobs/nightly"},
		{name: "Job: Run tab", path: nsp + "/jobs/report/run"},
		{name: "Job: Configuration tab", path: nsp + "/jobs/report/configuration"},
		{name: "Job: Configuration tab (schedule)", path: nsp + "/jobs/nightly/configuration"},
		{name: "Job: Hooks tab", path: nsp + "/jobs/report/hooks"},
		{name: "Run (logs)", path: nsp + "/runs/" + runs.succeeded},
		{name: "Run (failed)", path: nsp + "/runs/" + runs.failed},
		{name: "Run (running)", path: nsp + "/runs/" + runs.running},
		{name: "Create job", path: nsp + "/new-job"},
		{name: "Confirm (delete job)", path: nsp + "/jobs/report/delete"},
		{name: "Not found (404)", path: nsp + "/jobs/no-such-job", status: true},
		{name: "Forbidden (403)", path: nsp + "/jobs", limited: true, status: true},
		{name: "Session required (401)", path: nsp + "/jobs", anonymous: true, status: true},
	}
}

// auditAll runs Lighthouse on each target, keeping the reports in out,
// and prints the table.
func auditAll(ctx context.Context, targets []target, admin, limited *ui, lhBin, chrome, only, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	fmt.Println("| Page | Performance | Accessibility | Best practices | Failing audits |")
	fmt.Println("|---|---|---|---|---|")
	for i, t := range targets {
		if only != "" && !strings.Contains(t.name, only) {
			continue
		}
		srv := admin
		if t.limited {
			srv = limited
		}
		base := srv.base
		if t.status {
			base = srv.as200
		}
		cookie := srv.cookie
		if t.anonymous {
			cookie = ""
		}
		report := filepath.Join(out, fmt.Sprintf("%02d.json", i))
		r, err := lighthouse(ctx, lhBin, chrome, base+t.path, cookie, report)
		for try := 1; err != nil && try < 3; try++ { // Lighthouse's trace sometimes misses the navigation on a busy machine
			fmt.Fprintf(os.Stderr, "%s: %v; again\n", t.name, err)
			r, err = lighthouse(ctx, lhBin, chrome, base+t.path, cookie, report)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		fmt.Printf("| %s | %s | %s | %s | %s |\n", t.name, r.score("performance"), r.score("accessibility"),
			r.score("best-practices"), strings.Join(r.failing(), ", "))
	}
	fmt.Fprintf(os.Stderr, "Lighthouse reports (JSON) in %s\n", out)
	return nil
}

// ui is a running `kubectl shipjob ui` logged in: its base URL, the
// session cookie ("name=value") the login URL set and the base URL of
// as200, its proxy for Lighthouse.
type ui struct {
	base, cookie, as200 string
	stop                func()
}

func startUI(ctx context.Context, plugin, kubeconfig string, args ...string) (*ui, error) {
	cmd := exec.CommandContext(ctx, plugin, append([]string{"ui", "--no-browser"}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() { // Ctrl-C, as a user stops it; the UI is gone when audit exits
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	srv, err := login(ctx, out)
	if err != nil {
		stop()
		return nil, err
	}
	srv.stop = stop
	return srv, nil
}

// login reads the UI's one-time URL from out and exchanges it for the
// session cookie.
func login(ctx context.Context, out io.Reader) (*ui, error) {
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("read the ui's url: %w", err)
	}
	u, err := url.Parse(strings.TrimSpace(line))
	if err != nil {
		return nil, err
	}
	base := &url.URL{Scheme: u.Scheme, Host: u.Host}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := client.Get(u.String()) // token → cookie → the Jobs page
	if err != nil {
		return nil, err
	}
	_ = resp.Body.Close()
	for _, ck := range jar.Cookies(base) {
		if strings.HasPrefix(ck.Name, "shipjob_session_") {
			proxy, err := as200(ctx, base)
			if err != nil {
				return nil, err
			}
			return &ui{base: base.String(), cookie: ck.Name + "=" + ck.Value, as200: proxy}, nil
		}
	}
	return nil, fmt.Errorf("login at %s set no session cookie (%s)", base, resp.Status)
}

// result is the part of Lighthouse's JSON report the table shows.
type result struct {
	Categories map[string]struct {
		Score     *float64 `json:"score"`
		AuditRefs []struct {
			ID string `json:"id"`
		} `json:"auditRefs"`
	} `json:"categories"`
	Audits map[string]struct {
		Score *float64 `json:"score"`
		Mode  string   `json:"scoreDisplayMode"`
	} `json:"audits"`
}

func (r *result) score(cat string) string {
	c, ok := r.Categories[cat]
	if !ok || c.Score == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f", *c.Score)
}

// failing lists the scored audits of the three categories that fail:
// pass/fail audits that do not pass and metrics scored below 0.9.
func (r *result) failing() []string {
	var ids []string
	seen := map[string]bool{}
	for _, cat := range []string{"performance", "accessibility", "best-practices"} {
		for _, ref := range r.Categories[cat].AuditRefs {
			a, ok := r.Audits[ref.ID]
			if !ok || seen[ref.ID] || a.Score == nil || *a.Score >= 1 {
				continue
			}
			if a.Mode != "binary" && (a.Mode != "numeric" && a.Mode != "metricSavings" || *a.Score >= 0.9) {
				continue // informative audits, and metrics scored well if not perfectly
			}
			seen[ref.ID] = true
			id := ref.ID
			if a.Mode != "binary" {
				id = fmt.Sprintf("%s (%.2f)", id, *a.Score)
			}
			ids = append(ids, id)
		}
	}
	return ids
}

func lighthouse(ctx context.Context, bin, chrome, page, cookie, report string) (*result, error) {
	args := []string{page, "--quiet", "--output=json", "--output-path=" + report,
		"--only-categories=performance,accessibility,best-practices",
		"--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"}
	if cookie != "" {
		h, _ := json.Marshal(map[string]string{"Cookie": cookie})
		args = append(args, "--extra-headers="+string(h))
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "CHROME_PATH="+chrome)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("lighthouse %s: %w: %s", page, err, strings.TrimSpace(string(out)))
	}
	b, err := os.ReadFile(report)
	if err != nil {
		return nil, err
	}
	var r result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("read %s: %w", report, err)
	}
	return &r, nil
}

// as200 serves the UI at base through a reverse proxy on another loopback
// port that answers its HTML error pages (401, 403, 404) with status 200:
// Lighthouse does not audit a document that failed, and these pages are
// what a user reads. Everything else passes unchanged; the Host header is
// the UI's, which answers only to its own.
func as200(ctx context.Context, base *url.URL) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(base); r.Out.Host = base.Host },
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode >= 400 && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				resp.StatusCode, resp.Status = http.StatusOK, "200 OK"
			}
			return nil
		},
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	return "http://" + l.Addr().String(), nil
}
