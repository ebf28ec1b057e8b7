package ui

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"github.com/shipjob/kubectl-shipjob/plugin/schedule"
)

// stripRuns is how many of a job's last runs its strip shows.
const stripRuns = 20

// jobRow is one line of the Jobs page.
type jobRow struct {
	Job   *jobdef.Job
	Image string
	Last  *run.Status
	Strip strip
	// Next is the job's next scheduled run (nil: none), Leader whether a
	// hook server runs the namespace's schedules (nil: no job has any).
	Next   *slotTime
	Leader *schedule.LeaderState
}

// strip is the SVG of a job's last runs: one bar each, oldest left,
// height = duration (relative to the longest), colour = outcome.
type strip struct {
	Width, Height int
	Bars          []bar
}

type bar struct {
	X, Y, W, H int
	Class      string
	Title      string
	Href       string
}

// jobsPage lists every job of the namespace with its last runs: three API
// requests (definitions, at the same time as runs then pods of unfinished
// runs), and a Lease GET when some job has schedules.
func (s *Server) jobsPage(w http.ResponseWriter, r *http.Request) {
	p, _, ok := s.names(w, r)
	if !ok {
		return
	}
	p.Title = "Jobs"
	ctx := r.Context()
	view, msg := readJobsQuery(r)
	if msg != "" {
		p.Data = problem{Code: http.StatusBadRequest, Title: "Invalid search", Message: msg}
		s.pages.render(w, r, http.StatusBadRequest, "error", p)
		return
	}
	jobs, runs, leader, err := s.pageJobs(ctx, p.Namespace, &view)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	byJob := map[string][]run.Status{}
	for _, st := range runs { // newest first
		if len(byJob[st.Job]) < stripRuns {
			byJob[st.Job] = append(byJob[st.Job], st)
		}
	}
	rows := make([]jobRow, len(jobs))
	for i := range jobs {
		j := &jobs[i]
		rows[i] = jobRow{Job: j, Image: jobImage(j), Next: nextRun(j, p.Now), Leader: leader}
		if rs := byJob[j.Name]; len(rs) > 0 {
			rows[i].Last = &rs[0]
			rows[i].Strip = makeStrip(p.Namespace, rs, p.Now)
		}
	}
	if d := r.URL.Query().Get("deleted"); d != "" {
		p.Notice = "Job " + d + " deleted with its runs and deploy hooks."
	}
	p.Events = "/namespaces/" + p.Namespace + "/events"
	view.Rows = rows
	p.Data = view
	s.pages.render(w, r, http.StatusOK, "jobs", p)
}

// pageJobs lists the definitions of view's page (decoding only those) and
// their runs, and the schedules' leader when some job has schedules.
func (s *Server) pageJobs(ctx context.Context, ns string, view *jobsView) ([]jobdef.Job, []run.Status, *schedule.LeaderState, error) {
	// The definitions are listed while the runs (and their pods) are: the
	// page waits for the longer of the two, not for their sum. A page that
	// shows some of the jobs only (beyond jobsPerPage, or searched) drops
	// that list and reads the runs of its jobs alone: 10,000 jobs' runs
	// were most of such a page's time (issue 23).
	// A namespace whose page showed some jobs only the last time is not
	// asked for every run at all: that list would take the API server's
	// time from the definitions'.
	var runs []run.Status
	runsErr := make(chan error, 1)
	rctx, stopRuns := context.WithCancel(ctx)
	defer stopRuns()
	_, paged := s.paged.Load(ns)
	if paged {
		runsErr <- nil
	} else {
		go func() {
			var err error
			runs, err = run.List(rctx, s.client(ctx), ns, "")
			runsErr <- err
		}()
	}
	// Only the page's definitions are decoded: searched and paged by name.
	jobs, err := (&jobdef.Store{Client: s.client(ctx), Namespace: ns}).ListSome(ctx, "", view.pick)
	var leader *schedule.LeaderState
	if err == nil {
		leader = s.leaderOf(ctx, ns, jobs) // while the runs are listed
	}
	if err == nil && view.Total > jobsPerPage {
		s.paged.Store(ns, true)
	} else if err == nil {
		s.paged.Delete(ns)
	}
	if err == nil && (len(jobs) < view.Total || paged) {
		stopRuns()
		<-runsErr
		names := make([]string, len(jobs))
		for i := range jobs {
			names[i] = jobs[i].Name
		}
		runs, err = run.ListOf(ctx, s.client(ctx), ns, names)
	} else if rerr := <-runsErr; err == nil {
		err = rerr
	}
	return jobs, runs, leader, err
}

// jobsPerPage is how many jobs the Jobs page shows at once (its target of
// issue 14 is 1,000 jobs on one page).
const jobsPerPage = 1000

// jobsView is the Jobs page's content: the jobs whose name contains Q
// (all when empty), jobsPerPage a page, in name order.
type jobsView struct {
	Rows []jobRow
	Q    string
	// Total jobs of the namespace, Matched of them by Q; this page shows
	// matches First to Last (from 1).
	Total, Matched, First, Last, Page int
	// Prev and Next: the previous and next page (0: none), as links
	// that keep Q.
	Prev, Next int
	// Search shows the search form: beyond a page of jobs, or searched.
	Search bool
}

// readJobsQuery reads ?q= and ?page=; msg says what is wrong with them.
func readJobsQuery(r *http.Request) (jobsView, string) {
	q := r.URL.Query()
	v := jobsView{Q: strings.TrimSpace(q.Get("q")), Page: 1}
	if len(v.Q) > jobdef.MaxNameLength || strings.IndexFunc(v.Q, unicode.IsControl) >= 0 {
		return v, "Search for part of a job's name: at most " + strconv.Itoa(jobdef.MaxNameLength) + " characters."
	}
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxRunsPage {
			return v, fmt.Sprintf("%q is not a page number.", s)
		}
		v.Page = n
	}
	return v, ""
}

// pick returns the indexes of the jobs of v's page among names (every
// job, in name order) that contain v.Q, and sets the counts and
// neighbouring pages.
func (v *jobsView) pick(names []string) []int {
	v.Total = len(names)
	jobs := make([]int, 0, min(len(names), jobsPerPage))
	for i, n := range names {
		if v.Q == "" || strings.Contains(n, v.Q) {
			jobs = append(jobs, i)
		}
	}
	v.Matched, v.Search = len(jobs), v.Q != "" || v.Total > jobsPerPage
	from := min((v.Page-1)*jobsPerPage, len(jobs))
	to := min(from+jobsPerPage, len(jobs))
	v.First, v.Last = from+1, to
	if v.Page > 1 {
		v.Prev = min(v.Page-1, max(1, (len(jobs)+jobsPerPage-1)/jobsPerPage))
	}
	if to < len(jobs) {
		v.Next = v.Page + 1
	}
	return jobs[from:to]
}

// makeStrip draws runs (newest first) oldest left.
func makeStrip(ns string, runs []run.Status, now time.Time) strip {
	const bw, gap, h, minH = 6, 2, 22, 3
	st := strip{Width: stripRuns * (bw + gap), Height: h}
	var longest time.Duration
	for _, r := range runs {
		longest = max(longest, r.Duration(now))
	}
	for i := range runs {
		r := runs[len(runs)-1-i]
		bh := h
		if longest > 0 {
			bh = minH + int(float64(h-minH)*float64(r.Duration(now))/float64(longest))
		}
		title := fmt.Sprintf("%s: %s", r.Name, r.Phase)
		if r.Message != "" {
			title += " – " + r.Message
		}
		st.Bars = append(st.Bars, bar{X: i * (bw + gap), Y: h - bh, W: bw, H: bh,
			Class: "bar-" + phaseName(r.Phase), Title: title, Href: "/namespaces/" + ns + "/runs/" + r.Name})
	}
	return st
}

func phaseName(p run.Phase) string {
	switch p {
	case run.Succeeded:
		return "succeeded"
	case run.Failed:
		return "failed"
	case run.Cancelled:
		return "cancelled"
	case run.Running:
		return "running"
	case run.Pending:
		return "pending"
	}
	return "unknown"
}
