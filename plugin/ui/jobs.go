package ui

import (
	"fmt"
	"net/http"
	"time"

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
	// The definitions are listed while the runs (and their pods) are: the
	// page waits for the longer of the two, not for their sum.
	var runs []run.Status
	runsErr := make(chan error, 1)
	go func() {
		var err error
		runs, err = run.List(ctx, s.client(ctx), p.Namespace, "")
		runsErr <- err
	}()
	jobs, err := (&jobdef.Store{Client: s.client(ctx), Namespace: p.Namespace}).List(ctx, "")
	var leader *schedule.LeaderState
	if err == nil {
		leader = s.leaderOf(ctx, p.Namespace, jobs) // while the runs are listed
	}
	if rerr := <-runsErr; err == nil {
		err = rerr
	}
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
	p.Data = rows
	s.pages.render(w, r, http.StatusOK, "jobs", p)
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
