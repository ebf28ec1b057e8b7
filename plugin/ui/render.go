package ui

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// page is what every template gets.
type page struct {
	Title     string
	Namespace string
	// Home is the namespace the command was started with.
	Home       string
	Namespaces []string
	CSRF       string
	// Events is the URL of the page's live updates ("" = none).
	Events string
	// Error is a message shown at the top of the page.
	Error string
	// Notice is a success message.
	Notice string
	// Job and Tab: a job page and its selected tab.
	Job *jobdef.Job
	Tab string
	// Data is the page's own content.
	Data any
	Now  time.Time
}

// pages are the parsed templates, one set per page over the layout.
type pages struct{ sets map[string]*template.Template }

var pageNames = []string{"jobs", "job_runs", "job_run", "job_form", "job_hooks", "run", "confirm", "error", "unauthorized"}

func loadPages() (*pages, error) {
	p := &pages{sets: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS,
			"templates/layout.html", "templates/parts.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		p.sets[name] = t
	}
	return p, nil
}

func staticFiles() http.Handler {
	sub, _ := fs.Sub(staticFS, ".")
	return http.FileServerFS(sub)
}

// render writes a whole page or, if its template fails, a plain 500:
// never half a page.
func (p *pages) render(w http.ResponseWriter, _ *http.Request, code int, name string, data *page) {
	if data.Now.IsZero() {
		data.Now = time.Now()
	}
	var buf bytes.Buffer
	if err := p.sets[name].Execute(&buf, data); err != nil {
		plain(w, http.StatusInternalServerError, "500 Internal Server Error: rendering "+name+": "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// problem is an error as a person reads it.
type problem struct {
	Code    int
	Title   string
	Message string
	Hint    string
}

// describe turns an error of the domain or the API server into a page.
func describe(err error, ns string) problem {
	msg := err.Error()
	switch {
	case apierrors.IsForbidden(err):
		return problem{http.StatusForbidden, "Forbidden", msg,
			"Your Kubernetes user may not do this in namespace " + ns + ". Choose another namespace, or ask an administrator for a Role there."}
	case apierrors.IsNotFound(err):
		return problem{http.StatusNotFound, "Not found", msg, "It may have been deleted, or its retention ended."}
	case errors.Is(err, jobdef.ErrConflict) || apierrors.IsConflict(err):
		return problem{http.StatusConflict, "Conflict", msg, "Someone else changed it meanwhile: reload the page and make your change again."}
	case apierrors.IsAlreadyExists(err):
		return problem{http.StatusConflict, "Already exists", msg, "Choose another name."}
	case jobdef.IsInvalid(err):
		return problem{http.StatusUnprocessableEntity, "Invalid job definition", msg, "Fix it on the Configuration tab (or with kubectl shipjob edit)."}
	case run.IsInput(err):
		return problem{http.StatusBadRequest, "Not accepted", msg, ""}
	case run.IsConflict(err):
		return problem{http.StatusConflict, "Not started", msg, "The job's concurrency rules refuse another run now: wait for the active run, or cancel it."}
	case run.IsForeignRelease(err):
		return problem{http.StatusConflict, "Not started", msg, "A Helm release of another chart has this job's name: kubectl-shipjob leaves it alone."}
	case apierrors.IsUnauthorized(err):
		return problem{http.StatusBadGateway, "Credentials refused", msg, "The API server refused the credentials of your kubeconfig: log in again, then reload."}
	case apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || apierrors.IsServiceUnavailable(err):
		return problem{http.StatusServiceUnavailable, "API server unavailable", msg, "Try again in a moment."}
	}
	return problem{http.StatusInternalServerError, "Something went wrong", msg, ""}
}

// fail renders err as the page's content, with the status code it means.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, p *page, err error) {
	pr := describe(err, p.Namespace)
	p.Data = pr
	if p.Title == "" {
		p.Title = pr.Title
	}
	s.pages.render(w, r, pr.Code, "error", p)
}

var funcs = template.FuncMap{
	"ago": func(now time.Time, t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "–"
			}
			return run.HumanDuration(now.Sub(v).Round(time.Second))
		case *time.Time:
			if v == nil {
				return "–"
			}
			return run.HumanDuration(now.Sub(*v).Round(time.Second))
		}
		return "–"
	},
	// elapsed is the seconds a running run has run (the base the page's
	// script counts on from, every second), "" for one not running.
	"elapsed": func(now time.Time, s run.Status) string {
		if s.Started == nil || s.Finished != nil || s.Phase.Finished() {
			return ""
		}
		return strconv.Itoa(int(s.Duration(now) / time.Second))
	},
	// ticking is elapsed for a run whose message counts ("Running for …").
	"ticking": func(now time.Time, s run.Status) string {
		if !s.Ticking || s.Started == nil {
			return ""
		}
		return strconv.Itoa(int(s.Duration(now) / time.Second))
	},
	"duration": func(now time.Time, s run.Status) string {
		if s.Started == nil {
			return "–"
		}
		return run.HumanDuration(s.Duration(now))
	},
	"phaseClass": func(p run.Phase) string { return "phase-" + strings.ToLower(string(p)) },
	"clock": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.Local().Format("2006-01-02 15:04:05")
		case *time.Time:
			if v != nil {
				return v.Local().Format("2006-01-02 15:04:05")
			}
		}
		return "–"
	},
	"join":   strings.Join,
	"image":  jobImage,
	"preset": func(list []string, v string) bool { return slices.Contains(list, v) },
}

// jobImage is a job's image as its definition says it (registry: image:tag).
func jobImage(j *jobdef.Job) string {
	s := j.Spec.Image
	if j.Spec.Registry != "" {
		s = j.Spec.Registry + ": " + s
	}
	switch {
	case j.Spec.Digest != "":
		s += "@" + j.Spec.Digest
	case j.Spec.Tag != "":
		s += ":" + j.Spec.Tag
	}
	return s
}
