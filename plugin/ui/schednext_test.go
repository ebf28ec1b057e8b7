package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"github.com/shipjob/kubectl-shipjob/plugin/schedule"
)

func scheduledJob() *jobdef.Job {
	j := jobdef.New("team", "report")
	j.Spec.Image = "busybox"
	j.Spec.Schedules = []jobdef.Schedule{{Name: "nightly", Cron: "0 3 * * *", TimeZone: "Europe/Helsinki"},
		{Name: "hourly", Cron: "@hourly", Suspend: true}}
	return j
}

// heartbeat is a Lease renewed now: a hook server runs the schedules.
func heartbeat(t *testing.T, fs *schedServer) {
	t.Helper()
	holder, secs := "hooks-0", int32(30)
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: schedule.HeartbeatLease},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs,
			RenewTime: &metav1.MicroTime{Time: time.Now()}}}
	if _, err := fs.s.cfg.Client.CoordinationV1().Leases("team").Create(t.Context(), l, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestNextRunHonest: without a hook server leading schedules the Jobs
// page and the job page say so instead of a next run; with one they show
// the next run (Jobs page) and the next three slots (job page).
func TestNextRunHonest(t *testing.T) {
	fs := newSchedServer(t, scheduledJob())
	jobs := fs.do("GET", "/namespaces/team/jobs", nil).Body.String()
	page := fs.do("GET", "/namespaces/team/jobs/report", nil).Body.String()
	if !strings.Contains(jobs, "no hook server runs schedules here") || strings.Contains(jobs, "<time") {
		t.Errorf("Jobs page without a leader:\n%s", jobs)
	}
	if !strings.Contains(page, `id="no-leader"`) || strings.Contains(page, "<time") {
		t.Errorf("job page without a leader:\n%s", page)
	}
	heartbeat(t, fs)
	jobs = fs.do("GET", "/namespaces/team/jobs", nil).Body.String()
	page = fs.do("GET", "/namespaces/team/jobs/report", nil).Body.String()
	if strings.Contains(jobs, "no hook server") || strings.Count(jobs, "<time") != 1 ||
		!strings.Contains(jobs, "03:00 EET (Europe/Helsinki)") || !strings.Contains(jobs, "data-local") {
		t.Errorf("Jobs page with a leader:\n%s", jobs)
	}
	if strings.Contains(page, `id="no-leader"`) || strings.Count(page, "<time") != nextSlots ||
		!strings.Contains(page, "Suspended") || !strings.Contains(page, `id="resume-hourly"`) || !strings.Contains(page, `id="suspend-nightly"`) {
		t.Errorf("job page with a leader:\n%s", page)
	}
}

// TestJobsPageScheduleRequests: schedules add one Lease GET to the Jobs
// page, none when no job has schedules.
func TestJobsPageScheduleRequests(t *testing.T) {
	plain := jobdef.New("team", "plain")
	plain.Spec.Image = "busybox"
	for _, tc := range []struct {
		jobs  []*jobdef.Job
		lease int
	}{{[]*jobdef.Job{plain}, 0}, {[]*jobdef.Job{plain, scheduledJob()}, 1}} {
		fs := newSchedServer(t, tc.jobs...)
		waitNamespaces(fs.s)
		fs.cs.ClearActions()
		fs.do("GET", "/namespaces/team/jobs", nil)
		var reqs []string
		leases := 0
		for _, a := range fs.cs.Actions() {
			reqs = append(reqs, a.GetVerb()+" "+a.GetResource().Resource)
			if a.GetResource().Resource == "leases" {
				leases++
			}
		}
		if leases != tc.lease || len(reqs) > maxJobsPageReqs+tc.lease {
			t.Errorf("%d jobs: requests %v, want ≤ %d with %d lease", len(tc.jobs), reqs, maxJobsPageReqs+tc.lease, tc.lease)
		}
	}
}

// TestLastScheduledRun: the job page shows each schedule's newest run.
func TestLastScheduledRun(t *testing.T) {
	now := time.Now()
	runs := []run.Status{{Name: "report-a", TriggeredBy: "schedule:nightly", Created: now.Add(-2 * time.Hour)},
		{Name: "report-b", TriggeredBy: "schedule:nightly", Created: now.Add(-time.Hour)},
		{Name: "report-c", TriggeredBy: "user:x", Created: now}}
	v := schedViews(scheduledJob(), runs, now)
	if len(v) != 2 || v[0].Last == nil || v[0].Last.Name != "report-b" || v[1].Last != nil || len(v[0].Next) != nextSlots || len(v[1].Next) != 0 {
		t.Fatalf("views: %+v", v)
	}
	for i, n := range v[0].Next {
		if n.At.IsZero() || i > 0 && !n.At.After(v[0].Next[i-1].At) {
			t.Errorf("slots not increasing: %+v", v[0].Next)
		}
	}
}

// TestScheduleSuspendResume: the buttons post with the CSRF token and
// change only the schedule's suspend; without the token nothing changes.
func TestScheduleSuspendResume(t *testing.T) {
	fs := newSchedServer(t, scheduledJob())
	rec := fs.do("POST", "/namespaces/team/jobs/report/schedules/nightly/suspend", url.Values{})
	if rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Location"), "suspended=nightly") {
		t.Fatalf("suspend: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	rec = fs.do("POST", "/namespaces/team/jobs/report/schedules/hourly/resume", url.Values{})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("resume: %d", rec.Code)
	}
	got, err := fs.store.Get(t.Context(), "report")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Spec.Schedules[0].Suspend || got.Spec.Schedules[1].Suspend {
		t.Fatalf("schedules after suspend/resume: %+v", got.Spec.Schedules)
	}
	if rec := fs.do("POST", "/namespaces/team/jobs/report/schedules/none/suspend", url.Values{}); rec.Code != http.StatusNotFound {
		t.Errorf("unknown schedule: %d", rec.Code)
	}
	// Without the CSRF token: refused, nothing written.
	r := fs.do("POST", "/namespaces/team/jobs/report/schedules/nightly/resume", nil)
	if r.Code < 400 {
		t.Errorf("resume without a form/token: %d", r.Code)
	}
	if got, _ := fs.store.Get(t.Context(), "report"); !got.Spec.Schedules[0].Suspend {
		t.Errorf("resumed without the CSRF token")
	}
}

// TestScheduleButtonsOnlyForUpdaters: a user who may not update the job
// sees no suspend/resume button; one who may update its Secret by name
// (a rule of resourceNames) sees them.
func TestScheduleButtonsOnlyForUpdaters(t *testing.T) {
	mayUpdate := append(slices.Clone(viewerRules), authorizationv1.ResourceRule{Verbs: []string{"update"},
		APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{jobdef.SecretName("report")}})
	for _, allowed := range []bool{true, false} {
		rules := map[bool][]authorizationv1.ResourceRule{true: mayUpdate, false: viewerRules}[allowed]
		fs := newSchedServerWith(t, func(cs *fake.Clientset) { rulesReactor(cs, nil, fixed(rules)) }, scheduledJob())
		body := fs.do("GET", "/namespaces/team/jobs/report", nil).Body.String()
		if got := strings.Contains(body, `id="suspend-nightly"`) && strings.Contains(body, `id="resume-hourly"`); got != allowed {
			t.Errorf("allowed %v: buttons shown %v", allowed, got)
		}
	}
}
