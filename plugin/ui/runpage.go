package ui

import (
	"bytes"
	"net/http"
	"sort"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// maxLogLines bounds each attempt's logs on the page (all of them are one
// click away as text).
const maxLogLines = 5000

// runView is the run page's content.
type runView struct {
	Status run.Status
	Params []kv
	Logs   string
	// LogsNote explains empty logs.
	LogsNote string
	// Stream is the URL of the live logs ("" once the run finished).
	Stream string
}

type kv struct{ Key, Value string }

func (s *Server) runPage(w http.ResponseWriter, r *http.Request) {
	p, vals, ok := s.names(w, r, "run")
	if !ok {
		return
	}
	p.Title = "Run " + vals[0]
	ctx := r.Context()
	st, err := run.Get(ctx, s.client(ctx), p.Namespace, vals[0])
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	v := runView{Status: st}
	for k, val := range st.Parameters {
		v.Params = append(v.Params, kv{k, val})
	}
	sort.Slice(v.Params, func(a, b int) bool { return v.Params[a].Key < v.Params[b].Key })
	var buf bytes.Buffer
	if len(st.Pods) == 0 && st.Attempts == 0 { // runs of several tasks name only a few pods
		v.LogsNote = "No output yet: the run has not started."
	} else if err := run.Logs(ctx, s.client(ctx), p.Namespace, st.Name, run.LogOptions{AllAttempts: true, TailLines: maxLogLines}, &buf); err != nil {
		v.LogsNote = "Logs are not available: " + err.Error()
	}
	v.Logs = buf.String()
	if v.Logs == "" && v.LogsNote == "" {
		v.LogsNote = "The run printed nothing."
	}
	if !st.Phase.Finished() {
		v.Stream = "/namespaces/" + p.Namespace + "/runs/" + st.Name + "/logs/stream"
	}
	if r.URL.Query().Get("cancelled") != "" {
		p.Notice = "Cancel requested: the run stops within seconds."
	}
	p.Events = "/namespaces/" + p.Namespace + "/events"
	p.Data = v
	s.pages.render(w, r, http.StatusOK, "run", p)
}

// runLogsText is every attempt's full output as text.
func (s *Server) runLogsText(w http.ResponseWriter, r *http.Request) {
	p, vals, ok := s.names(w, r, "run")
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := run.Logs(r.Context(), s.client(r.Context()), p.Namespace, vals[0], run.LogOptions{AllAttempts: true}, &buf); err != nil {
		s.fail(w, r, p, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) runCancelConfirm(w http.ResponseWriter, r *http.Request) {
	s.runConfirm(w, r, "Cancel run", "Its pods are stopped; it stays listed as Cancelled until its retention ends.", "cancel", "Cancel run")
}

func (s *Server) runDeleteConfirm(w http.ResponseWriter, r *http.Request) {
	s.runConfirm(w, r, "Delete run", "This deletes the run's Job, its pods and its logs. It cannot be undone.", "delete", "Delete run")
}

func (s *Server) runConfirm(w http.ResponseWriter, r *http.Request, q, detail, action, button string) {
	p, vals, ok := s.names(w, r, "run")
	if !ok {
		return
	}
	st, err := run.Get(r.Context(), s.client(r.Context()), p.Namespace, vals[0])
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	p.Title = q + " " + st.Name
	base := "/namespaces/" + p.Namespace + "/runs/" + st.Name
	p.Data = confirmData{Question: q + " " + st.Name + "?", Detail: detail, Action: base + "/" + action,
		Button: button, Back: base, Danger: true}
	s.pages.render(w, r, http.StatusOK, "confirm", p)
}

func (s *Server) runCancel(w http.ResponseWriter, r *http.Request) {
	p, vals, ok := s.names(w, r, "run")
	if !ok {
		return
	}
	if _, err := run.Cancel(r.Context(), s.client(r.Context()), p.Namespace, vals[0], s.user(r.Context()), run.DryRunNone); err != nil {
		s.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/namespaces/"+p.Namespace+"/runs/"+vals[0]+"?cancelled=1", http.StatusSeeOther)
}

func (s *Server) runDelete(w http.ResponseWriter, r *http.Request) {
	p, vals, ok := s.names(w, r, "run")
	if !ok {
		return
	}
	ctx := r.Context()
	st, err := run.Get(ctx, s.client(ctx), p.Namespace, vals[0])
	if err == nil {
		err = run.Delete(ctx, s.client(ctx), p.Namespace, st.Name, run.DryRunNone)
	}
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/namespaces/"+p.Namespace+"/jobs/"+st.Job+"?deleted="+st.Name, http.StatusSeeOther)
}
