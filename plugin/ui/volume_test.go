package ui

import (
	"net/http/httptest"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// TestPagesShowHistoryLimits: the Jobs page and a job's Runs page show how
// many finished runs the job keeps (and its trigger rate).
func TestPagesShowHistoryLimits(t *testing.T) {
	s, cs, h, req := jobsPageFixture(t)
	_, rec := renderJobs(t, cs, h, req)
	if !strings.Contains(rec.Body.String(), `<td class="keeps">20 succeeded · 20 failed</td>`) {
		t.Errorf("Jobs page does not show the history limits")
	}
	j := jobdef.New(benchNS, "shown")
	j.Spec.Image = "example.com/shown"
	three := int32(3)
	j.Spec.FailedRunsHistoryLimit = &three
	sec, err := jobdef.ToSecret(j)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(benchNS).Create(t.Context(), sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := req()
	r.URL.Path += "/shown"
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, r)
	if !strings.Contains(rec.Body.String(), "Keeps the newest 20 succeeded and 3 failed runs; at most 60 runs a minute.") {
		t.Errorf("job page (%d) does not show the history limits:\n%.3000s", rec.Code, rec.Body.String())
	}
}
