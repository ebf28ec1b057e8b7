package ui

import (
	"net/http"
	"strings"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// hooksView is the Deploy hooks tab.
type hooksView struct {
	Hooks []hook.Hook
	// Created is a hook just created, with its token (shown only now).
	Created *hook.Hook
	Curl    string
	Name    string
	Error   string
}

func (s *Server) hooksTab(w http.ResponseWriter, r *http.Request) {
	p, ok := s.jobPage(w, r, "hooks")
	if !ok {
		return
	}
	if d := r.URL.Query().Get("deleted"); d != "" {
		p.Notice = "Deploy hook " + d + " deleted: its token no longer works."
	}
	s.showHooks(w, r, p, &hooksView{}, http.StatusOK)
}

func (s *Server) showHooks(w http.ResponseWriter, r *http.Request, p *page, v *hooksView, code int) {
	hooks, err := (&hook.Store{Client: s.client(r.Context()), Namespace: p.Namespace}).List(r.Context(), p.Job.Name)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	v.Hooks = hooks
	p.Data = v
	s.pages.render(w, r, code, "job_hooks", p)
}

// hookCreate creates a hook and shows its token once, with a curl call.
func (s *Server) hookCreate(w http.ResponseWriter, r *http.Request) {
	p, ok := s.jobPage(w, r, "hooks")
	if !ok {
		return
	}
	v := &hooksView{Name: strings.TrimSpace(r.PostFormValue("name"))}
	// The store refuses a bad name (before it reads or writes anything):
	// shown next to the name field.
	h, err := (&hook.Store{Client: s.client(r.Context()), Namespace: p.Namespace}).Create(r.Context(), p.Job.Name, v.Name, s.user(r.Context()))
	if err != nil && run.FieldOf(err) == hook.NameField {
		v.Error = err.Error()
		s.showHooks(w, r, p, v, http.StatusUnprocessableEntity)
		return
	}
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	v.Created, v.Name = h, ""
	v.Curl = "curl -X POST -H 'Content-Type: application/json' \\\n  -H 'X-Deploy-Hook-Token: " + h.Token + "' \\\n" +
		"  --data '{}' \"$HOOK_SERVER" + hook.TriggerPath + "\""
	s.showHooks(w, r, p, v, http.StatusCreated)
}

func (s *Server) hookDeleteConfirm(w http.ResponseWriter, r *http.Request) {
	p, ok := s.jobPage(w, r, "hooks")
	if !ok {
		return
	}
	id := r.PathValue("id")
	if !hook.ValidID(id) {
		s.notFound(w, r)
		return
	}
	h, err := (&hook.Store{Client: s.client(r.Context()), Namespace: p.Namespace}).Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	base := "/namespaces/" + p.Namespace + "/jobs/" + p.Job.Name + "/hooks"
	p.Title = "Delete deploy hook"
	p.Data = confirmData{Question: "Delete deploy hook \u201c" + h.Spec.Name + "\u201d?",
		Detail: "Its token stops working at once; whatever calls it will get 404.",
		Action: base + "/" + id + "/delete", Button: "Delete hook", Back: base, Danger: true}
	s.pages.render(w, r, http.StatusOK, "confirm", p)
}

func (s *Server) hookDelete(w http.ResponseWriter, r *http.Request) {
	p, ok := s.jobPage(w, r, "hooks")
	if !ok {
		return
	}
	id := r.PathValue("id")
	if !hook.ValidID(id) {
		s.notFound(w, r)
		return
	}
	if err := (&hook.Store{Client: s.client(r.Context()), Namespace: p.Namespace}).Delete(r.Context(), id); err != nil {
		s.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/namespaces/"+p.Namespace+"/jobs/"+p.Job.Name+"/hooks?deleted="+id, http.StatusSeeOther)
}
