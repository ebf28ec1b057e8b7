package ui

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// keptRuns adds n succeeded runs of job to cs, the n-th the newest.
func keptRuns(t *testing.T, cs *fake.Clientset, job string, n int) {
	t.Helper()
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("%s-%04d", job, i)
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team",
			CreationTimestamp: metav1.NewTime(base.Add(time.Duration(i) * time.Minute)),
			Labels:            map[string]string{run.LabelKind: run.KindRun, run.LabelJob: job, run.LabelRun: name}},
			Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}}
		if err := cs.Tracker().Add(j); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRunsTabPages: a job with more runs than a page shows the newest
// runsPerPage, newest first, with links to older and newer pages; a bad
// page number is a 400 and a page beyond the last links back.
func TestRunsTabPages(t *testing.T) {
	j := jobdef.New("team", "migrate")
	j.Spec.Image = "acme/migrate"
	fs := newSchedServerWith(t, func(cs *fake.Clientset) { keptRuns(t, cs, "migrate", 250) }, j)
	row := func(i int) string { return fmt.Sprintf(`data-run="migrate-%04d"`, i) }
	for _, tc := range []struct {
		query        string
		first, last  int // newest and oldest run shown
		newer, older string
		rangeText    string
		notShown     []int
	}{
		{"", 250, 151, "", "?page=2", "Runs 1–100 of 250", []int{150, 1}},
		{"?page=2", 150, 51, "?page=1", "?page=3", "Runs 101–200 of 250", []int{250, 151, 50}},
		{"?page=3", 50, 1, "?page=2", "", "Runs 201–250 of 250", []int{51, 250}},
	} {
		w := fs.do(http.MethodGet, "/namespaces/team/jobs/migrate"+tc.query, nil)
		body := w.Body.String()
		if w.Code != http.StatusOK {
			t.Fatalf("%q: %d\n%s", tc.query, w.Code, body)
		}
		i, k := strings.Index(body, row(tc.first)), strings.Index(body, row(tc.last))
		if i < 0 || k < 0 || i > k || strings.Count(body, `data-run="`) != tc.first-tc.last+1 {
			t.Errorf("%q: want runs %d down to %d", tc.query, tc.first, tc.last)
		}
		for _, n := range tc.notShown {
			if strings.Contains(body, row(n)) {
				t.Errorf("%q shows run %d", tc.query, n)
			}
		}
		if !strings.Contains(body, tc.rangeText) {
			t.Errorf("%q: no %q", tc.query, tc.rangeText)
		}
		for id, want := range map[string]string{"runs-newer": tc.newer, "runs-older": tc.older} {
			link := `href="/namespaces/team/jobs/migrate` + want + `" id="` + id + `"`
			if got := strings.Contains(body, `id="`+id+`"`); got != (want != "") || (want != "" && !strings.Contains(body, link)) {
				t.Errorf("%q: link %s want %q", tc.query, id, want)
			}
		}
	}
	w := fs.do(http.MethodGet, "/namespaces/team/jobs/migrate?page=9", nil)
	if body := w.Body.String(); w.Code != http.StatusOK || !strings.Contains(body, "No runs on page 9: this job keeps 250.") ||
		!strings.Contains(body, `href="/namespaces/team/jobs/migrate?page=3" id="runs-newer"`) || strings.Contains(body, `data-run="`) {
		t.Errorf("page beyond the last: %d\n%s", w.Code, body)
	}
	for _, bad := range []string{"0", "-1", "x", "1.5", "99999999999999999999", "%00"} {
		w := fs.do(http.MethodGet, "/namespaces/team/jobs/migrate?page="+bad, nil)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "is not a page number") {
			t.Errorf("page=%s: %d", bad, w.Code)
		}
	}
}

// TestRunsTabOnePage: up to runsPerPage runs show without range or pager.
func TestRunsTabOnePage(t *testing.T) {
	j := jobdef.New("team", "migrate")
	j.Spec.Image = "acme/migrate"
	fs := newSchedServerWith(t, func(cs *fake.Clientset) { keptRuns(t, cs, "migrate", 3) }, j)
	w := fs.do(http.MethodGet, "/namespaces/team/jobs/migrate", nil)
	body := w.Body.String()
	if w.Code != http.StatusOK || strings.Count(body, `data-run="`) != 3 || strings.Contains(body, "runs-range") ||
		strings.Contains(body, `class="pager"`) {
		t.Errorf("%d\n%s", w.Code, body)
	}
}
