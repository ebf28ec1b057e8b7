package ui

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Handler serves the UI behind the session guard.
func (s *Server) Handler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.home)
	m.HandleFunc("GET /switch", s.switchNamespace)
	m.HandleFunc("GET /namespaces/{ns}/jobs", s.jobsPage)
	m.HandleFunc("GET /namespaces/{ns}/events", s.events)
	m.HandleFunc("GET /namespaces/{ns}/new-job", s.newJobForm)
	m.HandleFunc("POST /namespaces/{ns}/new-job", s.newJobSubmit)
	m.HandleFunc("GET /namespaces/{ns}/jobs/{job}", s.jobRunsTab)
	m.HandleFunc("GET /namespaces/{ns}/jobs/{job}/run", s.runTab)
	m.HandleFunc("POST /namespaces/{ns}/jobs/{job}/run", s.runSubmit)
	m.HandleFunc("GET /namespaces/{ns}/jobs/{job}/configuration", s.configTab)
	m.HandleFunc("POST /namespaces/{ns}/jobs/{job}/configuration", s.configSubmit)
	m.HandleFunc("POST /namespaces/{ns}/jobs/{job}/signing-secret", s.rotateSigningSecret)
	m.HandleFunc("POST /namespaces/{ns}/jobs/{job}/schedules/{schedule}/suspend", s.scheduleSuspendPost)
	m.HandleFunc("POST /namespaces/{ns}/jobs/{job}/schedules/{schedule}/resume", s.scheduleResumePost)
	m.HandleFunc("GET /namespaces/{ns}/jobs/{job}/hooks", s.hooksTab)
	m.HandleFunc("POST /namespaces/{ns}/jobs/{job}/hooks", s.hookCreate)
	m.HandleFunc("GET /namespaces/{ns}/jobs/{job}/hooks/{id}/delete", s.hookDeleteConfirm)
	m.HandleFunc("POST /namespaces/{ns}/jobs/{job}/hooks/{id}/delete", s.hookDelete)
	m.HandleFunc("GET /namespaces/{ns}/jobs/{job}/delete", s.jobDeleteConfirm)
	m.HandleFunc("POST /namespaces/{ns}/jobs/{job}/delete", s.jobDelete)
	m.HandleFunc("GET /namespaces/{ns}/runs/{run}", s.runPage)
	m.HandleFunc("GET /namespaces/{ns}/runs/{run}/logs", s.runLogsText)
	m.HandleFunc("GET /namespaces/{ns}/runs/{run}/logs/stream", s.runLogsStream)
	m.HandleFunc("GET /namespaces/{ns}/runs/{run}/cancel", s.runCancelConfirm)
	m.HandleFunc("POST /namespaces/{ns}/runs/{run}/cancel", s.runCancel)
	m.HandleFunc("GET /namespaces/{ns}/runs/{run}/delete", s.runDeleteConfirm)
	m.HandleFunc("POST /namespaces/{ns}/runs/{run}/delete", s.runDelete)
	m.HandleFunc("/", s.notFound)
	if s.cfg.Guard != nil {
		return s.cfg.Guard(staticFiles(), requireActor(m))
	}
	return s.guard(staticFiles(), m)
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/namespaces/"+url.PathEscape(s.cfg.Namespace)+"/jobs", http.StatusSeeOther)
}

// switchNamespace is the namespace switcher's form (works without JS).
func (s *Server) switchNamespace(w http.ResponseWriter, r *http.Request) {
	ns := r.URL.Query().Get("ns")
	if len(validation.IsDNS1123Label(ns)) > 0 {
		p := s.base(r, s.cfg.Namespace)
		p.Title = "Invalid namespace"
		p.Data = problem{Code: http.StatusBadRequest, Title: "Invalid namespace", Message: "\"" + ns + "\" is not a namespace name."}
		s.pages.render(w, r, http.StatusBadRequest, "error", p)
		return
	}
	http.Redirect(w, r, "/namespaces/"+ns+"/jobs", http.StatusSeeOther)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	p := s.base(r, s.cfg.Namespace)
	p.Title = "Not found"
	p.Data = problem{Code: http.StatusNotFound, Title: "Not found", Message: "There is no page " + r.URL.Path + "."}
	s.pages.render(w, r, http.StatusNotFound, "error", p)
}

// base is the common part of every page in namespace ns.
func (s *Server) base(r *http.Request, ns string) *page {
	a := s.actor(r.Context())
	pr := s.perms(r.Context(), ns)
	return &page{Namespace: ns, Home: s.cfg.Namespace, Namespaces: s.namespaces(r.Context(), ns), CSRF: a.CSRF,
		UserName: a.Name, SignOut: a.SignOut, Now: time.Now(), perms: pr, Can: canOf(pr, "")}
}

// names reads and checks the path's names; a bad one is a 404 page.
func (s *Server) names(w http.ResponseWriter, r *http.Request, keys ...string) (*page, []string, bool) {
	ns := r.PathValue("ns")
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = r.PathValue(k)
	}
	for _, v := range append([]string{ns}, vals...) {
		if len(validation.IsDNS1123Subdomain(v)) > 0 {
			s.notFound(w, r)
			return nil, nil, false
		}
	}
	return s.base(r, ns), vals, true
}

// nsCache remembers the namespaces the user may list, for the switcher.
// It is filled in the background (from NewServer, then whenever it is
// older than namespaceTTL), so no page render waits for or makes that API
// request: a page makes only its own (the Jobs page: three).
type nsCache struct {
	actor *Actor // the person's whose list it is
	mu    sync.Mutex
	names []string
	at    time.Time     // of the last fetch (zero: none ended yet)
	busy  chan struct{} // closed when the fetch in flight ends; nil = none
}

var namespaceTTL = 30 * time.Second

// maxNamespaceCaches bounds the console's per-person lists: past it, the
// cache starts over (each list is one LIST away).
const maxNamespaceCaches = 1000

// namespaceCache is the namespace list of the request's actor.
func (s *Server) namespaceCache(ctx context.Context) *nsCache {
	a := s.actor(ctx)
	if a == s.local {
		return &s.nsc
	}
	s.nscMu.Lock()
	defer s.nscMu.Unlock()
	c := s.nscs[a.Key]
	if c == nil {
		if len(s.nscs) >= maxNamespaceCaches {
			clear(s.nscs)
		}
		c = &nsCache{}
		s.nscs[a.Key] = c
	}
	c.mu.Lock()
	c.actor = a // the newest credentials (a refreshed token)
	c.mu.Unlock()
	return c
}

// refresh starts a background fetch unless one is in flight; c.mu is held.
func (c *nsCache) refresh(s *Server) {
	if c.busy != nil {
		return
	}
	done := make(chan struct{})
	c.busy = done
	a := c.actor
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(WithActor(context.Background(), a), 2*time.Second)
		defer cancel()
		var names []string
		if l, err := a.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err == nil {
			for _, n := range l.Items {
				names = append(names, n.Name)
			}
		}
		names = s.readable(ctx, names)
		c.mu.Lock()
		c.names, c.at, c.busy = names, time.Now(), nil
		c.mu.Unlock()
	}()
}

// namespaces lists the namespaces for the switcher (none when the user may
// not list them: the switcher then takes a typed name), always with
// current. Only before the first fetch ended does it wait for it (at most
// its 2 s timeout); later a stale list is used while a fresh one is fetched.
func (s *Server) namespaces(ctx context.Context, current string) []string {
	c := s.namespaceCache(ctx)
	c.mu.Lock()
	if time.Since(c.at) > namespaceTTL {
		c.refresh(s)
	}
	if busy := c.busy; c.at.IsZero() && busy != nil {
		c.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
		}
		c.mu.Lock()
	}
	out := slices.Clone(c.names)
	c.mu.Unlock()
	if current != "" && !slices.Contains(out, current) {
		out = append(out, current)
		slices.Sort(out)
	}
	return out
}
