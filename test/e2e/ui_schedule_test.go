package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// TestUISchedules: a job created with a schedule through the form shows on
// the Jobs page and the job page with the no-leader notice while no hook
// server runs schedules, and with its next runs once the heartbeat Lease
// is renewed; it is suspended from the job page, its expression edited
// and then removed on the Configuration tab; a bad cron expression shows
// the error next to its field and writes nothing. Every input is labelled,
// every table cell has a header.
func TestUISchedules(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	ui := startUI(t, "-n", ns)
	ctx := newBrowser(t)
	page := func(path string) string { return ui.Base + "/namespaces/" + ns + path }
	do(t, ctx, chromedp.Navigate(ui.Login))
	waitJS(t, ctx, 10*time.Second, "the Jobs page", "location.pathname === '/namespaces/"+ns+"/jobs'")

	do(t, ctx, chromedp.Navigate(page("/new-job")))
	waitJS(t, ctx, 10*time.Second, "the Create job form", "document.querySelector('#sched-0-cron') !== null")
	accessible(t, ctx, "Create job")
	setValue(t, ctx, "#name", "report")
	setValue(t, ctx, "#image", "example.com/acme/sim:1")
	setValue(t, ctx, "#sched-0-name", "nightly")
	setValue(t, ctx, "#sched-0-cron", "0 3 * * *")
	setValue(t, ctx, "#sched-0-zone", "Europe/Helsinki")
	click(t, ctx, "#save")
	waitJS(t, ctx, 10*time.Second, "the job's Run tab", "location.pathname === '/namespaces/"+ns+"/jobs/report/run'")
	if out := mustShipjob(t, "get", "report", "-n", ns, "-o", "yaml"); !strings.Contains(out, "cron: 0 3 * * *") ||
		!strings.Contains(out, "timeZone: Europe/Helsinki") {
		t.Fatalf("created job:\n%s", out)
	}

	// No hook server leads schedules here: said, no next run shown.
	do(t, ctx, chromedp.Navigate(page("/jobs")))
	waitJS(t, ctx, 10*time.Second, "the no-leader notice on the Jobs page", "document.body.innerText.includes('no hook server runs schedules here')")
	do(t, ctx, chromedp.Navigate(page("/jobs/report")))
	waitJS(t, ctx, 10*time.Second, "the no-leader notice on the job page", "document.querySelector('#no-leader') !== null")
	if n := eval[int](t, ctx, "document.querySelectorAll('time[data-local]').length"); n != 0 {
		t.Errorf("%d next runs shown without a leader", n)
	}
	// A renewed heartbeat: the next runs, in the browser's time, the zone in the title.
	renew := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")
	cluster.Kubectl(t, "-n", ns, "apply", "-f", writeTemp(t, `apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: shipjob-schedules}
spec: {holderIdentity: e2e, leaseDurationSeconds: 3600, renewTime: "`+renew+`"}
`))
	do(t, ctx, chromedp.Navigate(page("/jobs")))
	waitJS(t, ctx, 10*time.Second, "the next run on the Jobs page",
		"document.querySelector('.next-run time[data-local]')?.title.includes('(Europe/Helsinki)')")
	do(t, ctx, chromedp.Navigate(page("/jobs/report")))
	waitJS(t, ctx, 10*time.Second, "three next runs on the job page", "document.querySelectorAll('#schedules time[data-local]').length === 3")
	accessible(t, ctx, "the job page with schedules")
	screenshot(t, ctx, "job-page-schedules")

	// Suspend from the job page.
	click(t, ctx, "#suspend-nightly")
	waitJS(t, ctx, 10*time.Second, "suspended", "location.search.includes('suspended=nightly') && document.querySelector('#resume-nightly') !== null")
	if out := mustShipjob(t, "get", "report", "-n", ns, "-o", "yaml"); !strings.Contains(out, "suspend: true") {
		t.Errorf("not suspended:\n%s", out)
	}

	// A bad expression: the error next to its field, nothing written.
	do(t, ctx, chromedp.Navigate(page("/jobs/report/configuration")))
	waitJS(t, ctx, 10*time.Second, "the Configuration tab", "document.querySelector('#sched-0-cron') !== null")
	accessible(t, ctx, "Configuration")
	before := objectVersions(t, ns)
	setValue(t, ctx, "#sched-0-cron", "61 * * * *")
	click(t, ctx, "#save")
	waitJS(t, ctx, 10*time.Second, "the cron error next to it",
		"document.querySelector('#sched-0-cron')?.closest('.field').querySelector('.field-error')?.textContent.includes('invalid cron expression')")
	if after := objectVersions(t, ns); after != before {
		t.Errorf("a refused form changed the namespace")
	}
	// Edit the expression.
	setValue(t, ctx, "#sched-0-cron", "30 4 * * 1-5")
	click(t, ctx, "#save")
	waitJS(t, ctx, 10*time.Second, "saved", "location.search.includes('saved=1')")
	if out := mustShipjob(t, "get", "report", "-n", ns, "-o", "yaml"); !strings.Contains(out, "cron: 30 4 * * 1-5") || !strings.Contains(out, "suspend: true") {
		t.Errorf("after the edit:\n%s", out)
	}
	// Remove it.
	click(t, ctx, "#sched-0-remove")
	click(t, ctx, "#save")
	waitJS(t, ctx, 10*time.Second, "saved", "location.search.includes('saved=1') && document.querySelector('#sched-0-remove') === null")
	if out := mustShipjob(t, "get", "report", "-n", ns, "-o", "yaml"); strings.Contains(out, "schedules:") {
		t.Errorf("after the removal:\n%s", out)
	}
}
