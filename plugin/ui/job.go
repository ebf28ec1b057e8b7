package ui

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// jobPage reads the job of the path into p (p.Job, p.Error for an invalid
// definition); on failure it has rendered the error.
func (s *Server) jobPage(w http.ResponseWriter, r *http.Request, tab string) (*page, bool) {
	p, vals, ok := s.names(w, r, "job")
	if !ok {
		return nil, false
	}
	p.Title, p.Tab = vals[0], tab
	j, err := s.store(r.Context(), p.Namespace).Get(r.Context(), vals[0])
	if err != nil {
		s.fail(w, r, p, err)
		return nil, false
	}
	p.Job = j
	p.Can = canOf(p.perms, j.Name)
	if err := j.CheckStored(); err != nil {
		p.Error = err.Error()
	}
	return p, true
}

func (s *Server) store(ctx context.Context, ns string) *jobdef.Store {
	return &jobdef.Store{Client: s.client(ctx), Namespace: ns}
}

// jobRunsTab is the Runs tab: live from the namespace's watch.
func (s *Server) jobRunsTab(w http.ResponseWriter, r *http.Request) {
	p, ok := s.jobPage(w, r, "runs")
	if !ok {
		return
	}
	q := r.URL.Query()
	switch {
	case q.Get("deleted") != "":
		p.Notice = "Run " + q.Get("deleted") + " deleted."
	case q.Get("suspended") != "":
		p.Notice = "Schedule " + q.Get("suspended") + " suspended: it starts no run until resumed."
	case q.Get("resumed") != "":
		p.Notice = "Schedule " + q.Get("resumed") + " resumed: it runs from its next slot on."
	}
	p.Events = "/namespaces/" + p.Namespace + "/events"
	page := 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxRunsPage {
			p.Data = problem{Code: http.StatusBadRequest, Title: "Invalid page", Message: fmt.Sprintf("%q is not a page number.", v)}
			s.pages.render(w, r, http.StatusBadRequest, "error", p)
			return
		}
		page = n
	}
	// A job may keep thousands of runs: the tab shows runsPerPage of them,
	// newest first, read whole only those (run.ListNewest); a page beyond
	// the last is empty and links back. A job with schedules shows each
	// one's last run, which may be older than the page: all are read.
	from := (page - 1) * runsPerPage
	var runs []run.Status
	var total int
	var err error
	if len(p.Job.Spec.Schedules) == 0 {
		runs, total, err = run.ListNewest(r.Context(), s.client(r.Context()), p.Namespace, p.Job.Name, from, runsPerPage)
	} else {
		runs, err = run.List(r.Context(), s.client(r.Context()), p.Namespace, p.Job.Name)
		total = len(runs)
	}
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	tab := runsTab{Schedules: s.jobSchedules(r.Context(), p, runs), Total: total, Page: page}
	from = min(from, total)
	to := min(from+runsPerPage, total)
	if len(p.Job.Spec.Schedules) != 0 {
		runs = runs[from:to]
	}
	tab.Runs, tab.First, tab.Last = runs, from+1, to
	if page > 1 {
		tab.Newer = min(page-1, max(1, (total+runsPerPage-1)/runsPerPage))
	}
	if to < total {
		tab.Older = page + 1
	}
	p.Data = tab
	s.pages.render(w, r, http.StatusOK, "job_runs", p)
}

// runsPerPage is how many runs the Runs tab shows at once; maxRunsPage
// bounds the page number read from the URL.
const (
	runsPerPage = 100
	maxRunsPage = 1_000_000
)

// runsTab is the Runs tab's content: one page of the job's runs.
type runsTab struct {
	Runs      []run.Status
	Schedules *jobSchedules
	// Total runs kept; this page shows runs First to Last of them (from 1).
	Total, First, Last, Page int
	// Newer and Older are the neighbouring pages (0: none).
	Newer, Older int
}

func (s *Server) runTab(w http.ResponseWriter, r *http.Request) {
	p, ok := s.jobPage(w, r, "run")
	if !ok {
		return
	}
	p.Data = newRunForm(p.Job)
	s.pages.render(w, r, http.StatusOK, "job_run", p)
}

// runSubmit triggers a run and goes to its page; a refused trigger shows
// the form again with the message next to the parameter it names.
func (s *Server) runSubmit(w http.ResponseWriter, r *http.Request) {
	p, ok := s.jobPage(w, r, "run")
	if !ok {
		return
	}
	if !s.require(w, r, p, actRun, "") {
		return
	}
	f := newRunForm(p.Job)
	params := f.readParams(r)
	f.Tag = strings.TrimSpace(r.PostFormValue("tag"))
	res, err := s.engine(r.Context()).Trigger(r.Context(), run.Request{Namespace: p.Namespace, Job: p.Job.Name,
		Params: params, Tag: f.Tag, TriggeredBy: s.user(r.Context()), JobUID: p.Job.UID})
	if err != nil {
		switch run.Classify(err) {
		case run.KindInvalidInput, run.KindConflict, run.KindForeignRelease, run.KindInvalidDefinition, run.KindReplaced:
			p.Error = err.Error()
			param := run.ParamOf(err) // "" when no parameter is refused
			for i := range f.Params {
				if f.Params[i].Name == param {
					f.Params[i].Error = p.Error
				}
			}
			p.Data = f
			s.pages.render(w, r, describe(err, p.Namespace).Code, "job_run", p)
		default:
			s.fail(w, r, p, err)
		}
		return
	}
	http.Redirect(w, r, "/namespaces/"+p.Namespace+"/runs/"+res.Run, http.StatusSeeOther)
}

// confirmData is a confirmation page: a question and one button.
type confirmData struct {
	Question, Detail, Action, Button, Back string
	Danger                                 bool
}

func (s *Server) jobDeleteConfirm(w http.ResponseWriter, r *http.Request) {
	p, ok := s.jobPage(w, r, "")
	if !ok {
		return
	}
	if !s.offered(w, r, p, actDeleteJob, jobdef.SecretName(p.Job.Name)) {
		return
	}
	p.Title = "Delete job " + p.Job.Name
	base := "/namespaces/" + p.Namespace + "/jobs/" + p.Job.Name
	p.Data = confirmData{Question: "Delete job " + p.Job.Name + "?",
		Detail: "This deletes its definition, its deploy hooks, its Helm release and all of its runs with their logs.",
		Action: base + "/delete", Button: "Delete job", Back: base + "/configuration", Danger: true}
	s.pages.render(w, r, http.StatusOK, "confirm", p)
}

func (s *Server) jobDelete(w http.ResponseWriter, r *http.Request) {
	p, vals, ok := s.names(w, r, "job")
	if !ok {
		return
	}
	if !s.require(w, r, p, actDeleteJob, jobdef.SecretName(vals[0])) {
		return
	}
	if _, err := s.engine(r.Context()).DeleteJob(r.Context(), p.Namespace, vals[0], run.DeleteJobOptions{}); err != nil {
		s.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/namespaces/"+p.Namespace+"/jobs?deleted="+vals[0], http.StatusSeeOther)
}
