package e2e

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// TestUIKeyboardOnly: with the keyboard only (Tab, typing, arrows, Space,
// Enter; no click), create a job with typed and secret parameters and a
// notification, see its signing secret once, add an enum and a boolean
// parameter on the Configuration tab, run it from the Run tab with its
// typed inputs, see its logs and delete the run. The secret default never
// reaches any page.
func TestUIKeyboardOnly(t *testing.T) {
	t.Parallel()
	const secretDefault = "kb-secret-default-4711"
	ns := cluster.Namespace(t, false)
	ui := startUI(t, "-n", ns)
	ctx := newBrowser(t)
	k := &keyboard{t: t, ctx: ctx}
	noSecret := func(what string) {
		t.Helper()
		if strings.Contains(eval[string](t, ctx, "document.documentElement.outerHTML"), secretDefault) {
			t.Fatalf("%s: the secret default is in the page", what)
		}
	}
	do(t, ctx, chromedp.Navigate(ui.Login))
	waitJS(t, ctx, 10*time.Second, "the Jobs page", "location.pathname === '/namespaces/"+ns+"/jobs'")

	// Jobs page → Create job.
	k.tabTo("a[href='/namespaces/" + ns + "/new-job']")
	k.press(kb.Enter)
	waitJS(t, ctx, 10*time.Second, "the Create job page", "document.querySelector('#name') !== null")
	k.typeInto("#name", "kb")
	k.typeInto("#image", "example.com/acme/sim:1")
	k.typeInto("input[name='env.0.name']", "SIM_DURATION")
	k.typeInto("input[name='env.0.value']", "1s")
	k.typeInto("#param-0-name", "COUNT")
	k.typeInto("#param-0-default", "3")
	k.choose("#param-0-type", "integer")
	k.typeInto("#param-0-description", "how many")
	k.typeInto("#param-1-name", "TOKEN")
	k.typeInto("#param-1-default", secretDefault)
	k.tabTo("#param-1-secret")
	k.press(" ")
	k.typeInto("#maxActiveRuns", "0")
	k.typeInto("#maxRunsPerMinute", "0")
	k.typeInto("#notif-0-url", "https://hooks.example.com/shipjob")
	k.choose("#notif-0-format", "slack")
	k.tabTo("#notif-0-on-failed")
	k.press(" ")
	k.tabTo("#save")
	k.press(kb.Enter)
	waitJS(t, ctx, 20*time.Second, "the signing secret", "document.querySelector('#signing-secret-value') !== null")
	noSecret("the created job")
	shown := eval[string](t, ctx, "document.querySelector('#signing-secret-value').textContent")
	stored := cluster.Kubectl(t, "-n", ns, "get", "secret", "shipjob-notify-kb", "-o", "jsonpath={.data.signing-secret}")
	if dec, err := base64.StdEncoding.DecodeString(stored); err != nil || shown == "" || string(dec) != shown {
		t.Fatalf("signing secret shown %q, stored (base64) %q", shown, stored)
	}
	accessible(t, ctx, "the Configuration tab after create")
	do(t, ctx, chromedp.EmulateViewport(412, 900)) // Lighthouse's phone: the checkboxes wrap
	accessible(t, ctx, "the Configuration tab on a phone")
	do(t, ctx, chromedp.EmulateViewport(1360, 900))
	screenshot(t, ctx, "keyboard-created")
	out := mustShipjob(t, "get", "kb", "-n", ns, "-o", "yaml")
	for _, want := range []string{"type: integer", "description: how many", "secret: true", "maxActiveRuns: 0",
		"url: https://hooks.example.com/shipjob", "format: slack", "- failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("created job lacks %q:\n%s", want, out)
		}
	}

	// Configuration tab (shown after create): add an enum and a boolean.
	k.typeInto("#param-2-name", "MODE")
	k.typeInto("#param-2-default", "up")
	k.typeInto("#param-2-enum", "up, down")
	k.typeInto("#param-3-name", "DRY")
	k.typeInto("#param-3-default", "false")
	k.choose("#param-3-type", "boolean")
	k.tabTo("#save")
	k.press(kb.Enter)
	waitJS(t, ctx, 20*time.Second, "saved", "location.search.includes('saved=1')")
	noSecret("the Configuration tab")
	if strings.Contains(pageText(ctx), shown) {
		t.Fatal("the signing secret is shown again")
	}

	// Run tab, through its tab link.
	k.tabTo("nav.tabs a[href$='/run']")
	k.press(kb.Enter)
	waitJS(t, ctx, 10*time.Second, "the Run tab", "document.querySelector('#run') !== null")
	noSecret("the Run tab")
	if got := eval[string](t, ctx, `['COUNT','MODE','DRY','TOKEN'].map(n => { const e = document.querySelector('#param-' + n); return e.tagName + ':' + e.type }).join(' ')`); got != "INPUT:number SELECT:select-one INPUT:checkbox INPUT:password" {
		t.Fatalf("Run tab inputs: %s", got)
	}
	accessible(t, ctx, "the Run tab")
	k.tabTo("#param-COUNT")
	k.press(kb.ArrowUp) // 3 → 4
	k.choose("#param-MODE", "down")
	k.tabTo("#param-DRY")
	k.press(" ")
	screenshot(t, ctx, "keyboard-run-tab")
	k.tabTo("#run")
	k.press(kb.Enter)
	waitJS(t, ctx, 20*time.Second, "the run's page", "location.pathname.startsWith('/namespaces/"+ns+"/runs/kb-')")
	waitJS(t, ctx, 30*time.Second, "Succeeded", "document.querySelector('.status-line .badge').textContent === 'Succeeded'")
	waitJS(t, ctx, 10*time.Second, "the logs", "document.querySelector('#logs').textContent.includes("+jsString(cluster.SimulatedLogLines[len(cluster.SimulatedLogLines)-1])+")")
	noSecret("the run's page")
	runs := listRuns(t, ns, "kb")
	if len(runs) != 1 || runs[0].Parameters["COUNT"] != "4" || runs[0].Parameters["MODE"] != "down" ||
		runs[0].Parameters["DRY"] != "true" || runs[0].Parameters["TOKEN"] != "<secret>" {
		t.Fatalf("runs: %+v", runs)
	}

	// Delete the run, with its confirmation.
	k.tabTo("#delete")
	k.press(kb.Enter)
	waitJS(t, ctx, 10*time.Second, "the confirmation", "document.querySelector('#confirm') !== null")
	k.tabTo("#confirm")
	k.press(kb.Enter)
	waitJS(t, ctx, 10*time.Second, "the Runs tab", "location.pathname === '/namespaces/"+ns+"/jobs/kb'")
	noSecret("the Runs tab")
	if runs := listRuns(t, ns, "kb"); len(runs) != 0 {
		t.Fatalf("runs after Delete run: %+v", runs)
	}
}

// keyboard drives the page with key events only.
type keyboard struct {
	t   *testing.T
	ctx context.Context
}

func (k *keyboard) press(keys string) {
	k.t.Helper()
	do(k.t, k.ctx, chromedp.KeyEvent(keys))
}

// tabTo presses Tab until the element css has the focus.
func (k *keyboard) tabTo(css string) {
	k.t.Helper()
	focused := "document.activeElement !== null && document.activeElement.matches(" + jsString(css) + ")"
	if eval[int](k.t, k.ctx, "document.querySelectorAll("+jsString(css)+").length") == 0 {
		k.t.Fatalf("no %s on the page: %.400s", css, pageText(k.ctx))
	}
	for range 300 {
		if eval[bool](k.t, k.ctx, focused) {
			return
		}
		k.press(kb.Tab)
	}
	k.t.Fatalf("Tab never reached %s", css)
}

func (k *keyboard) typeInto(css, text string) {
	k.t.Helper()
	k.tabTo(css)
	k.press(text)
}

// choose focuses a select and moves its choice with the arrow keys until
// it is value.
func (k *keyboard) choose(css, value string) {
	k.t.Helper()
	k.tabTo(css)
	for range 20 {
		if eval[string](k.t, k.ctx, "document.activeElement.value") == value {
			return
		}
		k.press(kb.ArrowDown)
	}
	k.t.Fatalf("%s: the arrow keys never chose %q", css, value)
}
