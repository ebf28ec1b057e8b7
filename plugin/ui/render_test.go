package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// TestDescribeMapsEveryKind: a new run.Kind fails here until the UI says
// what it means.
func TestDescribeMapsEveryKind(t *testing.T) {
	for _, k := range run.Kinds() {
		if _, ok := problems[k]; !ok {
			t.Errorf("no page for %v", k)
		}
	}
}

// TestDescribe: the status code and title of each kind of error, as they
// were before run.Classify; the message is the error's own.
func TestDescribe(t *testing.T) {
	gr := schema.GroupResource{Group: "shipjob.dev", Resource: "jobs"}
	for name, tc := range map[string]struct {
		err   error
		code  int
		title string
	}{
		"forbidden":          {apierrors.NewForbidden(gr, "x", errors.New("no")), 403, "Forbidden"},
		"not found":          {apierrors.NewNotFound(gr, "x"), 404, "Not found"},
		"changed":            {fmt.Errorf("update job x: %w", jobdef.ErrConflict), 409, "Conflict"},
		"api conflict":       {apierrors.NewConflict(gr, "x", errors.New("changed")), 409, "Conflict"},
		"already exists":     {apierrors.NewAlreadyExists(gr, "x"), 409, "Already exists"},
		"invalid definition": {&jobdef.InvalidError{Namespace: "team", Name: "x", Err: errors.New("bad")}, 422, "Invalid job definition"},
		"input":              {&run.InputError{Param: "A", Err: errors.New("bad A")}, 400, "Not accepted"},
		"concurrency":        {&run.ConflictError{Job: "x", Reason: "forbid"}, 409, "Not started"},
		"foreign release":    {&run.ForeignReleaseError{Namespace: "team", Release: "x", Chart: "app"}, 409, "Not started"},
		"unauthorized":       {apierrors.NewUnauthorized("who"), 502, "Credentials refused"},
		"unavailable":        {apierrors.NewServiceUnavailable("later"), 503, "API server unavailable"},
		"timeout":            {apierrors.NewTimeoutError("slow", 1), 503, "API server unavailable"},
		"throttled":          {apierrors.NewTooManyRequests("slow down", 1), 500, "Something went wrong"},
		"unreachable":        {fmt.Errorf("list: %w", context.DeadlineExceeded), 500, "Something went wrong"},
		"replaced":           {&run.ReplacedError{Job: "x", Known: "a", Now: "b"}, 500, "Something went wrong"},
		"rate limited":       {&run.RateLimitedError{Job: "x", PerMinute: 1, RetryAfter: time.Second}, 500, "Something went wrong"},
		"finished":           {&run.FinishedError{Run: "x-1", Phase: "Succeeded"}, 500, "Something went wrong"},
		"plain":              {errors.New("boom"), 500, "Something went wrong"},
	} {
		pr := describe(fmt.Errorf("wrapped: %w", tc.err), "team")
		if pr.Code != tc.code || pr.Title != tc.title || pr.Message != "wrapped: "+tc.err.Error() {
			t.Errorf("%s: %+v, want %d %q", name, pr, tc.code, tc.title)
		}
	}
	if pr := describe(apierrors.NewForbidden(gr, "x", errors.New("no")), "team"); !strings.Contains(pr.Hint, "in namespace team.") {
		t.Errorf("forbidden hint %q", pr.Hint)
	}
}

// refusingEngine refuses every trigger with err.
type refusingEngine struct {
	noEngine
	err error
}

func (e refusingEngine) Trigger(context.Context, run.Request) (*run.Result, error) { return nil, e.err }

// postForm posts form (with the session's CSRF token) to path of s.
func postForm(s *Server, path string, form url.Values) *httptest.ResponseRecorder {
	form.Set(csrfField, s.sess.csrf)
	req := httptest.NewRequest("POST", "http://"+testHost+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://"+testHost)
	req.AddCookie(&http.Cookie{Name: s.sess.cookieName(), Value: s.sess.cookie})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func formServer(t *testing.T, engine run.Engine) *Server {
	t.Helper()
	j := jobdef.New("team", "typed")
	j.Spec.Image = "example.com/app"
	j.Spec.Parameters = []jobdef.Parameter{{Name: "COUNT", Type: jobdef.ParamInteger, Default: "1"}, {Name: "C", Default: "x"}}
	sec, err := jobdef.ToSecret(j)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(Config{Client: fake.NewClientset(sec), Engine: engine, Namespace: "team",
		WhoAmI: func(context.Context) string { return "user:test" }}, testHost)
	if err != nil {
		t.Fatal(err)
	}
	startSession(s)
	return s
}

var fieldErrorRE = regexp.MustCompile(`(?s)<label for="param-(\w+)".*?</div>`)

// fieldsWithErrors are the parameters the run form shows an error next to.
func fieldsWithErrors(body string) []string {
	var out []string
	for _, m := range fieldErrorRE.FindAllStringSubmatch(body, -1) {
		if strings.Contains(m[0], `class="field-error"`) {
			out = append(out, m[1])
		}
	}
	return out
}

// TestRunFormMarksTheRefusedParam: a refused trigger shows the form again
// with its message next to the parameter the refusal names (its Param,
// not a match of the text), with the status code of its kind.
func TestRunFormMarksTheRefusedParam(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		code int
		want string
	}{
		// helmrun wraps Parameters' refusal in a whole-request InputError.
		"param":          {&run.InputError{Err: &run.InputError{Param: "COUNT", Err: errors.New(`invalid value "many" for parameter "COUNT": want an integer`)}}, 400, "COUNT"},
		"missing":        {&run.InputError{Err: &run.MissingParamError{Job: "typed", Param: "C"}}, 400, "C"},
		"whole request":  {&run.InputError{Err: errors.New(`invalid tag "x"`)}, 400, ""},
		"quoted, no par": {&run.ConflictError{Job: "typed", Reason: `"COUNT" and "C" are busy`}, 409, ""},
		"replaced":       {&run.ReplacedError{Job: "typed", Known: "a", Now: "b"}, 500, ""},
	} {
		rec := postForm(formServer(t, refusingEngine{err: tc.err}), "/namespaces/team/jobs/typed/run", url.Values{"param.COUNT": {"many"}})
		body := rec.Body.String()
		got := strings.Join(fieldsWithErrors(body), ",")
		if rec.Code != tc.code || got != tc.want || !strings.Contains(body, `id="param-COUNT"`) {
			t.Errorf("%s: %d with errors at %q, want %d at %q; body:\n%.400s", name, rec.Code, got, tc.code, tc.want, body)
		}
	}
}

// TestHookNameRefusedByTheStore: the hook store's refusal of a name is
// shown next to the name field, without the CLI's flag.
func TestHookNameRefusedByTheStore(t *testing.T) {
	s := formServer(t, noEngine{})
	rec := postForm(s, "/namespaces/team/jobs/typed/hooks", url.Values{"name": {"  "}})
	body := rec.Body.String()
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, "a hook name is required") || strings.Contains(body, "--name") {
		t.Fatalf("%d:\n%.2000s", rec.Code, body)
	}
	rec = postForm(s, "/namespaces/team/jobs/typed/hooks", url.Values{"name": {"CI on main"}})
	if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), "X-Deploy-Hook-Token") {
		t.Fatalf("create: %d", rec.Code)
	}
}
