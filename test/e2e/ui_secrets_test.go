package e2e

import (
	"bufio"
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

// startUIWithBrowser starts `kubectl shipjob ui args...` with BROWSER set
// to a script this test controls: it records its argv and /proc/self/cmdline,
// copies the file it is given to copy, then waits a few seconds (while the
// test looks at every process's argv). It returns the first line printed.
func startUIWithBrowser(t *testing.T, dir string, args ...string) string {
	t.Helper()
	script := filepath.Join(dir, "browser.sh")
	body := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + dir + "/argv.tmp\ntr '\\0' ' ' < /proc/$$/cmdline > " + dir + "/cmdline\n" +
		"cp \"$1\" " + dir + "/copy.html\nmv " + dir + "/argv.tmp " + dir + "/argv\nsleep 5\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cluster.PluginBin, append([]string{"ui"}, args...)...)
	cmd.Env = append(os.Environ(), "BROWSER="+script, "DISPLAY=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		for sc.Scan() {
		}
		done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ui exited with %v after Ctrl-C\n%s", err, logs.String())
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("ui did not stop within 15s of Ctrl-C")
		}
	})
	select {
	case l := <-line:
		return l
	case <-time.After(30 * time.Second):
		t.Fatalf("ui printed nothing within 30s; stderr:\n%s", logs.String())
	}
	return ""
}

// TestUILoginTokenNeverOnArgv (review N11): the browser is opened on a
// private file, never on the token: no process's argv holds it (checked in
// /proc/*/cmdline while the opener runs); the file is 0600 and gone once
// the browser used it; the printed line has no token. Two servers on two
// ports do not log each other out; an expired session gets the login page.
func TestUILoginTokenNeverOnArgv(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "tok")
	dir := t.TempDir()
	first := startUIWithBrowser(t, dir, "-n", ns)
	if strings.Contains(first, "token") || !strings.HasPrefix(first, "Opened http://127.0.0.1:") {
		t.Fatalf("first line %q: want the address without the token", first)
	}
	eventually(t, 10*time.Second, "the fake browser to run", func() bool { _, err := os.Stat(dir + "/argv"); return err == nil })
	argv, _ := os.ReadFile(dir + "/argv")
	path := strings.TrimSpace(string(argv))
	copied, err := os.ReadFile(dir + "/copy.html")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(copied), "?token=")
	if i < 0 {
		t.Fatalf("the login file has no token:\n%s", copied)
	}
	token := strings.SplitN(string(copied)[i+len("?token="):], `"`, 2)[0]
	if len(token) < 32 {
		t.Fatalf("token %q", token)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("login file %s: %v, %v; want mode 0600", path, fi, err)
	}
	if di, err := os.Stat(filepath.Dir(path)); err != nil || di.Mode().Perm() != 0o700 {
		t.Fatalf("login dir: %v, %v; want mode 0700", di, err)
	}
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, c := range append(cmdlines, dir+"/cmdline") {
		if b, err := os.ReadFile(c); err == nil && strings.Contains(string(b), token) {
			t.Errorf("%s holds the login token: %q", c, b)
		}
	}
	if strings.Contains(string(argv), token) {
		t.Errorf("the browser's argv holds the token: %q", argv)
	}

	// The browser opens the file: it lands on the Jobs page, and the file
	// is gone.
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate("file://"+dir+"/copy.html"))
	waitJS(t, ctx, 15*time.Second, "the Jobs page", "location.pathname === '/namespaces/"+ns+"/jobs'")
	base := strings.TrimSuffix(strings.Fields(first)[1], "/")
	eventually(t, 5*time.Second, "the login file to be removed", func() bool { _, err := os.Stat(path); return os.IsNotExist(err) })

	// A second server on another port: logging in there keeps this session.
	other := startUI(t, "-n", ns)
	do(t, ctx, chromedp.Navigate(other.Login))
	waitJS(t, ctx, 15*time.Second, "the second server's Jobs page", "location.href.startsWith("+jsString(other.Base)+")")
	do(t, ctx, chromedp.Navigate(base+"/namespaces/"+ns+"/jobs"))
	waitJS(t, ctx, 10*time.Second, "the first server's Jobs page", "location.pathname === '/namespaces/"+ns+"/jobs' && !document.title.startsWith('Session required')")
	do(t, ctx, chromedp.Navigate(other.Base+"/namespaces/"+ns+"/jobs"))
	waitJS(t, ctx, 10*time.Second, "the second server's Jobs page again", "!document.title.startsWith('Session required') && document.title !== ''")

	// A session idle for longer than --idle-timeout gets the login page.
	short := startUI(t, "-n", ns, "--idle-timeout", "2s")
	do(t, ctx, chromedp.Navigate(short.Login))
	waitJS(t, ctx, 15*time.Second, "the Jobs page", "location.href.startsWith("+jsString(short.Base+"/namespaces/")+")")
	time.Sleep(3 * time.Second) // on purpose: idle for longer than the 2s timeout
	do(t, ctx, chromedp.Navigate(short.Base+"/namespaces/"+ns+"/jobs"))
	waitJS(t, ctx, 10*time.Second, "the session-required page", "document.title.startsWith('Session required')")
	if txt := pageText(ctx); !strings.Contains(txt, "This session expired") {
		t.Errorf("expired session page: %s", txt)
	}
}

// TestUIConfigurationKeepsSecretDefault (review N10 a): the Configuration
// tab's page holds no secret default (DOM and source); saving it unchanged
// keeps the default, typing a value replaces it.
func TestUIConfigurationKeepsSecretDefault(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	const stored = "stored-secret-default-value"
	createSimJob(t, ns, "cfg", "--param", "TOKEN="+stored, "--secret-param", "TOKEN", "--param", "TARGET=a")
	ui := startUI(t, "-n", ns)
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(ui.Login))
	waitJS(t, ctx, 10*time.Second, "the Jobs page", "location.pathname === '/namespaces/"+ns+"/jobs'")
	config := ui.Base + "/namespaces/" + ns + "/jobs/cfg/configuration"
	openConfig := func() {
		do(t, ctx, chromedp.Navigate(config))
		waitJS(t, ctx, 10*time.Second, "the Configuration tab", "document.querySelector('#save') !== null")
		if strings.Contains(eval[string](t, ctx, "document.documentElement.outerHTML"), stored) {
			t.Fatalf("the Configuration tab's DOM holds the secret default")
		}
		src := eval[string](t, ctx, "(function(){const x=new XMLHttpRequest(); x.open('GET', location.href, false); x.send(); return x.responseText})()")
		if !strings.Contains(src, `id="save"`) || strings.Contains(src, stored) {
			t.Fatalf("the Configuration tab's source holds the secret default (or was not read)")
		}
	}
	runValue := func() string {
		run := trigger(t, ns, "cfg", "--wait")
		return runSecretValue(t, ns, run, "TOKEN")
	}
	tokenField := "(function(){for (const e of document.querySelectorAll('input[name$=\".name\"]')) if (e.value==='TOKEN') return '#'+e.id.replace('-name','-default'); return ''})()"

	openConfig()
	field := eval[string](t, ctx, tokenField)
	if field == "" || eval[string](t, ctx, "document.querySelector('"+field+"').type") != "password" {
		t.Fatalf("TOKEN's default field %q is not a password field", field)
	}
	click(t, ctx, "#save")
	waitJS(t, ctx, 10*time.Second, "saved", "location.search.includes('saved=1')")
	if v := runValue(); v != stored {
		t.Fatalf("after saving unchanged, a run gets TOKEN %q, want the stored default", v)
	}
	openConfig()
	setValue(t, ctx, eval[string](t, ctx, tokenField), "replaced-secret-value")
	click(t, ctx, "#save")
	waitJS(t, ctx, 10*time.Second, "saved", "location.search.includes('saved=1')")
	if v := runValue(); v != "replaced-secret-value" {
		t.Fatalf("after replacing, a run gets TOKEN %q", v)
	}
	openConfig()
	if strings.Contains(eval[string](t, ctx, "document.documentElement.outerHTML"), "replaced-secret-value") {
		t.Fatalf("the replaced default reached the browser")
	}
}
