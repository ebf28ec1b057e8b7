package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
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
