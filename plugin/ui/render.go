package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

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
	// UserName and SignOut: the signed-in person and the path the Sign
	// out button posts to (the console; "" in the local UI).
	UserName, SignOut string
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

// problems is the page of each kind of error: its status code, title and
// hint ({namespace} is the page's namespace); the message is the error's.
var problems = map[run.Kind]problem{
	run.KindForbidden: {Code: http.StatusForbidden, Title: "Forbidden",
		Hint: "Your Kubernetes user may not do this in namespace {namespace}. Choose another namespace, or ask an administrator for a Role there."},
	run.KindNotFound: {Code: http.StatusNotFound, Title: "Not found", Hint: "It may have been deleted, or its retention ended."},
	run.KindChanged: {Code: http.StatusConflict, Title: "Conflict",
		Hint: "Someone else changed it meanwhile: reload the page and make your change again."},
	run.KindAlreadyExists: {Code: http.StatusConflict, Title: "Already exists", Hint: "Choose another name."},
	run.KindInvalidDefinition: {Code: http.StatusUnprocessableEntity, Title: "Invalid job definition",
		Hint: "Fix it on the Configuration tab (or with kubectl shipjob edit)."},
	run.KindInvalidInput: {Code: http.StatusBadRequest, Title: "Not accepted"},
	run.KindConflict: {Code: http.StatusConflict, Title: "Not started",
		Hint: "The job's concurrency rules refuse another run now: wait for the active run, or cancel it."},
	run.KindForeignRelease: {Code: http.StatusConflict, Title: "Not started",
		Hint: "A Helm release of another chart has this job's name: kubectl-shipjob leaves it alone."},
	run.KindUnauthorized: {Code: http.StatusBadGateway, Title: "Credentials refused",
		Hint: "The API server refused the credentials of your kubeconfig: log in again, then reload."},
	run.KindUnavailable: {Code: http.StatusServiceUnavailable, Title: "API server unavailable", Hint: "Try again in a moment."},
	run.KindInternal:    somethingWrong,
	run.KindReplaced:    somethingWrong,
	run.KindRateLimited: somethingWrong,
	run.KindFinished:    somethingWrong,
	run.KindNotARun:     somethingWrong,
	run.KindThrottled:   somethingWrong,
	run.KindUnreachable: somethingWrong,
}

var somethingWrong = problem{Code: http.StatusInternalServerError, Title: "Something went wrong"}

// describe turns an error of the domain or the API server into a page.
func describe(err error, ns string) problem {
	pr, ok := problems[run.Classify(err)]
	if !ok {
		pr = somethingWrong
	}
	pr.Message = err.Error()
	pr.Hint = strings.ReplaceAll(pr.Hint, "{namespace}", ns)
	return pr
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
	"join":    strings.Join,
	"image":   jobImage,
	"preset":  func(list []string, v string) bool { return slices.Contains(list, v) },
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
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
