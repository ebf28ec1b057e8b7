package ui

import (
	"context"

	"net/http"
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
	runs, err := run.List(r.Context(), s.client(r.Context()), p.Namespace, p.Job.Name)
	if err != nil {
		s.fail(w, r, p, err)
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
	p.Data = runsTab{Runs: runs, Schedules: s.jobSchedules(r.Context(), p, runs)}
	s.pages.render(w, r, http.StatusOK, "job_runs", p)
}

// runsTab is the Runs tab's content.
type runsTab struct {
	Runs      []run.Status
	Schedules *jobSchedules
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
	if _, err := s.engine(r.Context()).DeleteJob(r.Context(), p.Namespace, vals[0], run.DeleteJobOptions{}); err != nil {
		s.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/namespaces/"+p.Namespace+"/jobs?deleted="+vals[0], http.StatusSeeOther)
}
