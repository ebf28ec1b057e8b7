package ui

import (
	"context"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// writeOpts are the options of every write of the UI.
var writeOpts = jobdef.WriteOptions{FieldManager: jobdef.ManagedBy}

func (s *Server) newJobForm(w http.ResponseWriter, r *http.Request) {
	p, _, ok := s.names(w, r)
	if !ok {
		return
	}
	if !s.offered(w, r, p, actCreateJob, "") {
		return
	}
	f := formOf(jobdef.New(p.Namespace, ""))
	f.Create, f.Tag = true, "" // the placeholder says "latest"
	s.showForm(w, r, p, f, http.StatusOK)
}

func (s *Server) configTab(w http.ResponseWriter, r *http.Request) {
	p, ok := s.jobPage(w, r, "configuration")
	if !ok {
		return
	}
	if r.URL.Query().Get("saved") != "" {
		p.Notice = "Saved. The next run uses the new configuration."
	}
	s.showForm(w, r, p, formOf(p.Job), http.StatusOK)
}

// showForm renders the job form, with the namespace's registries to
// choose from (none when they cannot be read: a full image still works).
func (s *Server) showForm(w http.ResponseWriter, r *http.Request, p *page, f *jobForm, code int) {
	regs, _ := s.store(r.Context(), p.Namespace).ListRegistries(r.Context())
	f.finish(regs)
	if f.Create {
		p.Title = "Create job"
		f.Action = "/namespaces/" + p.Namespace + "/new-job"
	} else {
		f.Action = "/namespaces/" + p.Namespace + "/jobs/" + p.Job.Name + "/configuration"
	}
	p.Data = f
	s.pages.render(w, r, code, "job_form", p)
}

func (s *Server) newJobSubmit(w http.ResponseWriter, r *http.Request) {
	p, _, ok := s.names(w, r)
	if !ok {
		return
	}
	if !s.require(w, r, p, actCreateJob, "") {
		return
	}
	f := parseForm(r)
	f.Create = true
	j := jobdef.New(p.Namespace, f.Name)
	if !s.check(r.Context(), p, f, j) {
		s.showForm(w, r, p, f, http.StatusUnprocessableEntity)
		return
	}
	created, err := s.store(r.Context(), p.Namespace).Create(r.Context(), j, writeOpts)
	if err != nil {
		if apierrors.IsAlreadyExists(err) {
			f.Errors["metadata.name"] = "a job named " + j.Name + " already exists"
		} else if !f.fieldError(err) {
			s.fail(w, r, p, err)
			return
		}
		s.showForm(w, r, p, f, describe(err, p.Namespace).Code)
		return
	}
	s.afterWrite(w, r, p, created, http.StatusCreated, "/namespaces/"+p.Namespace+"/jobs/"+j.Name+"/run")
}

func (s *Server) configSubmit(w http.ResponseWriter, r *http.Request) {
	p, ok := s.jobPage(w, r, "configuration")
	if !ok {
		return
	}
	if !s.require(w, r, p, actUpdateJob, jobdef.SecretName(p.Job.Name)) {
		return
	}
	f := parseForm(r)
	f.Name = p.Job.Name
	j := p.Job.DeepCopy()
	j.ResourceVersion = f.ResourceVersion // a change since the form was shown is a conflict
	if !s.check(r.Context(), p, f, j) {
		s.showForm(w, r, p, f, http.StatusUnprocessableEntity)
		return
	}
	saved, err := s.store(r.Context(), p.Namespace).Update(r.Context(), j, writeOpts)
	if err != nil {
		if !f.fieldError(err) {
			pr := describe(err, p.Namespace)
			p.Error = pr.Title + ": " + pr.Message + ". " + pr.Hint
		}
		s.showForm(w, r, p, f, describe(err, p.Namespace).Code)
		return
	}
	s.afterWrite(w, r, p, saved, http.StatusOK, "/namespaces/"+p.Namespace+"/jobs/"+j.Name+"/configuration?saved=1")
}

// check applies f to j and validates it as create and apply do; the
// problems go next to their fields. Nothing is written.
func (s *Server) check(ctx context.Context, p *page, f *jobForm, j *jobdef.Job) bool {
	f.apply(j)
	if len(f.Errors) > 0 {
		p.Error = "Fix the marked fields: nothing was saved."
		return false
	}
	if err := j.Validate(); err != nil {
		if !f.fieldError(err) {
			p.Error = err.Error()
		} else {
			p.Error = "Fix the marked field: nothing was saved."
		}
		return false
	}
	if j.Spec.Registry != "" {
		if _, err := s.store(ctx, p.Namespace).GetRegistry(ctx, j.Spec.Registry); err != nil {
			f.Errors["spec.registry"] = err.Error()
			p.Error = "Fix the marked field: nothing was saved."
			return false
		}
	}
	return true
}
