package ui

import (
	"net/http"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// afterWrite ends a successful create or save of job j (as stored): a
// job with notifications and no signing secret gets one, shown once on
// its Configuration tab; otherwise the browser is sent to next.
func (s *Server) afterWrite(w http.ResponseWriter, r *http.Request, p *page, j *jobdef.Job, code int, next string) {
	secret, err := s.store(r.Context(), p.Namespace).EnsureSigningSecret(r.Context(), j, writeOpts)
	if err == nil && secret == "" {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	p.Job, p.Tab, p.Title, p.Notice = j, "configuration", j.Name, "Saved."
	f := formOf(j)
	f.SigningSecret = secret
	if err != nil {
		p.Notice, p.Error = "", "Saved, but the notifications' signing secret was not made: "+err.Error()
	}
	s.showForm(w, r, p, f, code)
}

// rotateSigningSecret replaces the job's signing secret and shows the new
// one once; the previous one still signs for jobdef.SigningSecretGrace.
func (s *Server) rotateSigningSecret(w http.ResponseWriter, r *http.Request) {
	p, ok := s.jobPage(w, r, "configuration")
	if !ok || !s.require(w, r, p, actUpdateJob, jobdef.SecretName(p.Job.Name)) {
		return
	}
	secret, err := s.store(r.Context(), p.Namespace).RotateSigningSecret(r.Context(), p.Job, writeOpts)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	p.Notice = "The signing secret was replaced: the previous one still signs for " +
		jobdef.SigningSecretGrace.String() + " while receivers switch."
	f := formOf(p.Job)
	f.SigningSecret = secret
	s.showForm(w, r, p, f, http.StatusOK)
}
