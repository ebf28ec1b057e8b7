package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// TestSchedulesShown: the Jobs page and the job page show a job's
// schedules (name, expression, zone, suspended).
func TestSchedulesShown(t *testing.T) {
	j := jobdef.New("team", "report")
	j.Spec.Image = "busybox"
	j.Spec.Schedules = []jobdef.Schedule{{Name: "nightly", Cron: "0 3 * * *", TimeZone: "Europe/Helsinki"}, {Name: "hourly", Cron: "@hourly", Suspend: true}}
	sec, err := jobdef.ToSecret(j)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(Config{Client: fake.NewClientset(sec), Engine: noEngine{}, Namespace: "team",
		WhoAmI: func(context.Context) string { return "user:test" }}, testHost)
	if err != nil {
		t.Fatal(err)
	}
	startSession(s)
	waitNamespaces(s)
	for _, path := range []string{"/namespaces/team/jobs", "/namespaces/team/jobs/report"} {
		r := httptest.NewRequest("GET", "http://"+testHost+path, nil)
		r.AddCookie(&http.Cookie{Name: s.sess.cookieName(), Value: s.sess.cookie})
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, r)
		body := rec.Body.String()
		if rec.Code != http.StatusOK || !strings.Contains(body, "nightly <code>0 3 * * *</code> (Europe/Helsinki)") ||
			!strings.Contains(body, "hourly <code>@hourly</code> (UTC) suspended") {
			t.Errorf("%s: %d, schedules not shown:\n%s", path, rec.Code, body)
		}
	}
}
