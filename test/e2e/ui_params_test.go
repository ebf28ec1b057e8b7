package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// TestUITypedParameters: on the Run tab an enum is a choice, a secret
// parameter a password field whose default never reaches the browser, a
// type's hint shows under its field; a value that breaks its type is shown
// next to the field and starts nothing; saving the Configuration keeps
// what the form does not show (type, enum, secret).
func TestUITypedParameters(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "typed", "--env", "SIM_DURATION=1s",
		"--param", "REGION=eu", "--param-enum", "REGION=eu,us", "--param-description", "REGION=where it runs",
		"--param", "COUNT=3", "--param-type", "COUNT=integer",
		"--param", "TOKEN=default-token-value", "--secret-param", "TOKEN")
	ui := startUI(t, "-n", ns)
	ctx := newBrowser(t)
	page := func(path string) string { return ui.Base + "/namespaces/" + ns + path }
	do(t, ctx, chromedp.Navigate(ui.Login))
	waitJS(t, ctx, 10*time.Second, "the Jobs page", "location.pathname === '/namespaces/"+ns+"/jobs'")

	do(t, ctx, chromedp.Navigate(page("/jobs/typed/run")))
	waitJS(t, ctx, 10*time.Second, "the Run tab", "document.querySelector('#run') !== null")
	if tag := eval[string](t, ctx, "document.querySelector('#param-REGION').tagName"); tag != "SELECT" {
		t.Errorf("REGION is a %s, want a SELECT of its enum", tag)
	}
	if typ := eval[string](t, ctx, "document.querySelector('#param-TOKEN').type"); typ != "password" {
		t.Errorf("TOKEN input type %q, want password", typ)
	}
	if strings.Contains(eval[string](t, ctx, "document.documentElement.outerHTML"), "default-token-value") {
		t.Errorf("the secret parameter's default reached the browser")
	}
	if txt := pageText(ctx); !strings.Contains(txt, "where it runs") || !strings.Contains(txt, "an integer") {
		t.Errorf("descriptions and hints missing from the Run tab:\n%s", txt)
	}
	before := objectVersions(t, ns)
	setValue(t, ctx, "#param-COUNT", "many")
	click(t, ctx, "#run")
	waitJS(t, ctx, 10*time.Second, "COUNT's error next to it",
		"document.querySelector('#param-COUNT')?.closest('.field').querySelector('.field-error')?.textContent.includes('want an integer')")
	screenshot(t, ctx, "run-tab-typed-error")
	if after := objectVersions(t, ns); after != before {
		t.Errorf("a refused run changed the namespace")
	}
	setValue(t, ctx, "#param-COUNT", "5")
	click(t, ctx, "#run")
	waitJS(t, ctx, 10*time.Second, "the run's page", "location.pathname.startsWith('/namespaces/"+ns+"/runs/typed-')")
	run := strings.TrimPrefix(location(ctx), ui.Base+"/namespaces/"+ns+"/runs/")
	if p := getJob(t, ns, run).Annotations["shipjob.dev/parameters"]; !strings.Contains(p, `"COUNT":"5"`) || !strings.Contains(p, `"TOKEN":"<secret>"`) {
		t.Errorf("run parameters %s", p)
	}

	// Save the Configuration unchanged: the typed fields stay.
	do(t, ctx, chromedp.Navigate(page("/jobs/typed/configuration")))
	waitJS(t, ctx, 10*time.Second, "the Configuration tab", "document.querySelector('#save') !== null")
	click(t, ctx, "#save")
	waitJS(t, ctx, 10*time.Second, "the Configuration saved", "location.search.includes('saved=1')")
	out := mustShipjob(t, "get", "typed", "-n", ns, "-o", "yaml")
	for _, want := range []string{"enum:", "- us", "type: integer", "secret: true", "description: where it runs"} {
		if !strings.Contains(out, want) {
			t.Errorf("after saving the Configuration, no %q in\n%s", want, out)
		}
	}
}
