package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// uiServer is a `kubectl-shipjob ui` process on a free loopback port.
type uiServer struct {
	Login string // the one-time URL it printed first
	Base  string // http://127.0.0.1:PORT
	logs  *lockedBuffer
}

// startUI starts `kubectl shipjob ui --no-browser args...` and reads its
// first line; it is stopped with SIGINT (Ctrl-C) when t ends, and must
// exit 0 within seconds.
func startUI(t *testing.T, args ...string) *uiServer {
	t.Helper()
	cmd := exec.Command(cluster.PluginBin, append([]string{"ui", "--no-browser"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &uiServer{logs: &lockedBuffer{}}
	cmd.Stderr = s.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		for sc.Scan() { // nothing else is expected; keep the pipe drained
		}
		done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ui exited with %v after Ctrl-C\n%s", err, s.logs.String())
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("ui did not stop within 15s of Ctrl-C")
		}
	})
	select {
	case l := <-line:
		u, err := url.Parse(l)
		if err != nil || u.Scheme != "http" || !strings.HasPrefix(u.Host, "127.0.0.1:") || u.Query().Get("token") == "" {
			t.Fatalf("first line of ui = %q, want http://127.0.0.1:PORT/?token=…", l)
		}
		s.Login, s.Base = l, "http://"+u.Host
	case <-time.After(30 * time.Second):
		t.Fatalf("ui printed no URL within 30s; stderr:\n%s", s.logs.String())
	}
	return s
}

// newBrowser starts headless Debian chromium with a fresh profile. A
// missing chromium fails the test: CI installs it (.ci/run).
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not found (apt-get install -y chromium; .ci/run installs it): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1360, 900),
		chromedp.Flag("headless", "new"), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// do runs browser steps within a minute.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("browser: %v (at %s)", err, location(ctx))
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitJS waits until the expression is true in the page (navigations in
// between are fine).
func waitJS(t *testing.T, ctx context.Context, timeout time.Duration, what, js string) {
	t.Helper()
	poll(t, timeout, 100*time.Millisecond, what, func() bool {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		ok, err := chromedp.Run(c, chromedp.Evaluate[bool]("!!("+js+")"))
		return err == nil && ok
	}, func() string { return fmt.Sprintf("at %s; page: %.600s", location(ctx), pageText(ctx)) })
}

func location(ctx context.Context) string {
	c, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	l, _ := chromedp.Run(c, chromedp.Location())
	return l
}

func pageText(ctx context.Context) string {
	c, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	s, _ := chromedp.Run(c, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
	return strings.Join(strings.Fields(s), " ")
}

// screenshot saves the whole page as name.png under SHIPJOB_UI_SCREENSHOTS
// (or the test's temp dir).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SHIPJOB_UI_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var png []byte
	var err error
	for try := 0; try < 20; try++ { // a page being laid out has no size yet
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		png, err = chromedp.Run(c, chromedp.FullScreenshot(100))
		cancel()
		if err == nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// mark sets a marker in the page's JavaScript state: it survives live
// updates and is gone after a reload, which proves a change came live.
func mark(t *testing.T, ctx context.Context) {
	t.Helper()
	eval[bool](t, ctx, "window.__noReload = true")
}

func notReloaded(t *testing.T, ctx context.Context) {
	t.Helper()
	if !eval[bool](t, ctx, "window.__noReload === true") {
		t.Fatalf("the page was reloaded: the change did not come live")
	}
}

// jsString quotes s for JavaScript.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`)
	return "'" + r.Replace(s) + "'"
}

// accessible fails the test for what Lighthouse's accessibility audit
// would find in the page's structure (make audit-ui measures it all):
// a visible input without a label, a non-empty table cell without a
// header (a th in its row, or a th with text, visible or not, at the top
// of its column).
func accessible(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	// Sizes are measured on the page as shown: with its stylesheet (on a
	// loaded machine the DOM is there before the CSS, and unstyled links
	// are small and close: a CI flake of TestUIKeyboardOnly).
	waitJS(t, ctx, 10*time.Second, what+" loaded with its styles",
		"document.readyState === 'complete' && Array.from(document.styleSheets).length > 0")
	unlabelled := `Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea')).filter(e =>
		!e.getAttribute('aria-label') && !(e.id && document.querySelector('label[for="' + e.id + '"]')) && !e.closest('label')
	).map(e => e.name || e.id).join(', ')`
	if got := eval[string](t, ctx, unlabelled); got != "" {
		t.Errorf("%s: inputs without a label: %s", what, got)
	}
	headless := `Array.from(document.querySelectorAll('table')).flatMap(table => {
		const heads = table.tHead && table.tHead.rows.length ? Array.from(table.tHead.rows[0].cells) : [];
		return Array.from(table.querySelectorAll('tbody td')).filter(td => td.textContent.trim() !== '' &&
			!td.parentElement.querySelector('th') && !(heads[td.cellIndex] && heads[td.cellIndex].textContent.trim() !== '')
		).map(td => table.className + ' column ' + (td.cellIndex + 1) + ' (' + td.textContent.trim().slice(0, 30) + ')');
	}).join('; ')`
	if got := eval[string](t, ctx, headless); got != "" {
		t.Errorf("%s: table cells without a header: %s", what, got)
	}
	if got := eval[string](t, ctx, smallTargets); got != "" {
		t.Errorf("%s: targets under 24 px too close to another: %s", what, got)
	}
}

// smallTargets lists the visible targets under 24×24 px whose 24 px circle
// (centred on them) reaches another target or another small target's
// circle, as Lighthouse's target-size.
const smallTargets = `(() => {
	const small = r => r.width < 24 || r.height < 24;
	const all = Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a[href]'))
		.map(e => [e, e.getBoundingClientRect()]).filter(([e, r]) => r.width > 0 && r.height > 0);
	return all.filter(([e, r]) => small(r)).filter(([e, r]) => {
		const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
		return all.some(([o, q]) => o !== e && !o.contains(e) && !e.contains(o) && (small(q)
			? Math.hypot(q.left + q.width / 2 - cx, q.top + q.height / 2 - cy) < 24
			: Math.hypot(Math.max(q.left - cx, 0, cx - q.right), Math.max(q.top - cy, 0, cy - q.bottom)) < 12));
	}).map(([e, r]) => (e.id || e.name || e.tagName.toLowerCase() + (e.getAttribute('href') ? '[href=' + e.getAttribute('href') + ']' : '') +
		' "' + (e.textContent || '').trim().slice(0, 30) + '"') + ' ' + Math.round(r.width) + 'x' + Math.round(r.height) +
		'@' + Math.round(r.left) + ',' + Math.round(r.top)).join(', ');
})()`
