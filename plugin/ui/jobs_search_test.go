package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// TestJobsPageSearchAndPages: beyond jobsPerPage (1,000) jobs the Jobs page shows
// a page of them with a search form and links; ?q= keeps the jobs whose
// name contains it (links keep q); bad input is a 400.
func TestJobsPageSearchAndPages(t *testing.T) {
	var jobs []*jobdef.Job
	for i := range 2050 {
		prefix := "etl"
		if i%3 == 0 {
			prefix = "migrate"
		}
		j := jobdef.New("team", fmt.Sprintf("%s-%04d", prefix, i))
		j.Spec.Image = "acme/app"
		jobs = append(jobs, j)
	}
	fs := newSchedServer(t, jobs...)
	rowsOf := func(body string) int { return strings.Count(body, `<a class="strong" href="/namespaces/team/jobs/`) }
	for _, tc := range []struct {
		query, rangeText, prev, next string
		rows                         int
		absent                       string
	}{
		{"", "Jobs 1–1000 of 2050.", "", "page=2", 1000, ""},
		{"?page=3", "Jobs 2001–2050 of 2050.", "page=2", "", 50, ""},
		{"?q=migrate-00", "Jobs 1–34 of 34 whose name contains “migrate-00” (2050 in all).", "", "", 34, "etl-"},
		{"?q=%20etl-00&page=1", "Jobs 1–66 of 66 whose name contains “etl-00” (2050 in all).", "", "", 66, "migrate-"},
		{"?q=e", "Jobs 1–1000 of 2050 whose name contains “e” (2050 in all).", "", "q=e&amp;page=2", 1000, ""},
	} {
		w := fs.do(http.MethodGet, "/namespaces/team/jobs"+tc.query, nil)
		body := w.Body.String()
		if w.Code != http.StatusOK || rowsOf(body) != tc.rows || !strings.Contains(body, tc.rangeText) ||
			!strings.Contains(body, `<input type="search" id="q" name="q"`) {
			t.Errorf("%q: %d, %d rows, want %d and %q", tc.query, w.Code, rowsOf(body), tc.rows, tc.rangeText)
		}
		if tc.absent != "" && strings.Contains(body, `href="/namespaces/team/jobs/`+tc.absent) {
			t.Errorf("%q shows a job named %s…", tc.query, tc.absent)
		}
		for id, want := range map[string]string{"jobs-prev": tc.prev, "jobs-next": tc.next} {
			has := strings.Contains(body, `id="`+id+`"`)
			if has != (want != "") || (want != "" && !strings.Contains(body, `href="/namespaces/team/jobs?`+want+`" id="`+id+`"`)) {
				t.Errorf("%q: link %s, want %q", tc.query, id, want)
			}
		}
	}
	w := fs.do(http.MethodGet, "/namespaces/team/jobs?q=nothing-like-this", nil)
	if body := w.Body.String(); w.Code != http.StatusOK || !strings.Contains(body, "No job's name contains “nothing-like-this”.") || rowsOf(body) != 0 {
		t.Errorf("no match: %d\n%s", w.Code, body)
	}
	// A value is escaped wherever it is shown.
	w = fs.do(http.MethodGet, "/namespaces/team/jobs?q="+url.QueryEscape(`"><script>x</script>`), nil)
	if body := w.Body.String(); w.Code != http.StatusOK || strings.Contains(body, "<script>x") {
		t.Errorf("q not escaped: %d", w.Code)
	}
	for _, bad := range []string{"?page=0", "?page=x", "?q=" + strings.Repeat("a", 53), "?q=a%00b", "?q=a%0Ab"} {
		w := fs.do(http.MethodGet, "/namespaces/team/jobs"+bad, nil)
		if w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, w.Code)
		}
	}
}

// TestJobsPageFewJobs: a namespace with few jobs shows them all, without
// search form, range or pager.
func TestJobsPageFewJobs(t *testing.T) {
	j := jobdef.New("team", "migrate")
	j.Spec.Image = "acme/app"
	fs := newSchedServer(t, j)
	w := fs.do(http.MethodGet, "/namespaces/team/jobs", nil)
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, `href="/namespaces/team/jobs/migrate"`) ||
		strings.Contains(body, `id="q"`) || strings.Contains(body, "jobs-range") || strings.Contains(body, `class="pager"`) {
		t.Errorf("%d\n%s", w.Code, body)
	}
}

// TestJobsPageReadsRunsOfItsJobsOnly: a page that shows some of the jobs
// reads the runs of those jobs only (one list selecting them by name),
// and each row still shows its own last run (a page of every job lists
// every run as before: TestJobsPageFewJobs).
func TestJobsPageReadsRunsOfItsJobsOnly(t *testing.T) {
	var jobs []*jobdef.Job
	for i := range 1100 {
		j := jobdef.New("team", fmt.Sprintf("job-%04d", i))
		j.Spec.Image = "acme/app"
		jobs = append(jobs, j)
	}
	var sels []string
	fs := newSchedServerWith(t, func(cs *fake.Clientset) {
		cs.PrependReactor("list", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
			sels = append(sels, a.(k8stesting.ListActionImpl).GetListRestrictions().Labels.String())
			return false, nil, nil
		})
	}, jobs...)
	for _, name := range []string{"job-0001", "job-1050", "job-1051"} {
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name + "-0abc", Namespace: "team", ResourceVersion: "1",
			Labels: map[string]string{run.LabelKind: run.KindRun, run.LabelJob: name, run.LabelRun: name + "-0abc"}},
			Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}}
		if err := fs.cs.Tracker().Add(j); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		query   string
		runs    []string
		selects bool
	}{
		{"?page=2", []string{"job-1050-0abc", "job-1051-0abc"}, true},
		{"?q=job-105", []string{"job-1050-0abc", "job-1051-0abc"}, true},
		{"?q=job-0001", []string{"job-0001-0abc"}, false}, // one job: List of it
		{"", []string{"job-0001-0abc"}, true},             // jobs 1–1000 of 1100
	} {
		sels = nil
		w := fs.do(http.MethodGet, "/namespaces/team/jobs"+tc.query, nil)
		body := w.Body.String()
		if w.Code != http.StatusOK {
			t.Fatalf("%q: %d", tc.query, w.Code)
		}
		for _, r := range []string{"job-0001-0abc", "job-1050-0abc", "job-1051-0abc"} {
			if want := slices.Contains(tc.runs, r); strings.Contains(body, "/runs/"+r+`"`) != want {
				t.Errorf("%q: shows run %s: %v, want %v", tc.query, r, !want, want)
			}
		}
		last := sels[len(sels)-1]
		if strings.Contains(last, run.LabelJob+" in (") != tc.selects {
			t.Errorf("%q: runs listed with %.120q", tc.query, last)
		}
		// After the first page of a namespace with more jobs than a page,
		// every run is never listed again.
		for _, sel := range sels[:len(sels)-1] {
			if tc.query != "?page=2" && sel == run.Selector("") {
				t.Errorf("%q: every run listed", tc.query)
			}
		}
		if tc.selects && strings.Count(last, "job-") > 1000 {
			t.Errorf("%q: runs of %d jobs selected", tc.query, strings.Count(last, "job-"))
		}
	}
	// Down to a page of jobs: each row has its runs again (listed by name
	// once more, then every run as before).
	for i := 1000; i < 1100; i++ {
		if err := fs.cs.CoreV1().Secrets("team").Delete(t.Context(), jobdef.SecretName(fmt.Sprintf("job-%04d", i)), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		sels = nil
		if body := fs.do(http.MethodGet, "/namespaces/team/jobs", nil).Body.String(); !strings.Contains(body, "/runs/job-0001-0abc\"") {
			t.Errorf("page %d of 1,000 jobs does not show the run of job-0001", i)
		}
		if i == 1 && !slices.Contains(sels, run.Selector("")) {
			t.Errorf("a namespace of a page of jobs: runs listed with %.120q, want every run", sels)
		}
	}
}
