package ui

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// Rules of the tests: what a viewer and an editor of a namespace hold.
var (
	viewerRules = []authorizationv1.ResourceRule{
		{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{""}, Resources: []string{"secrets", "pods", "pods/log"}},
		{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{"batch"}, Resources: []string{"jobs"}},
	}
	editorRules = []authorizationv1.ResourceRule{
		{Verbs: []string{"*"}, APIGroups: []string{""}, Resources: []string{"secrets", "pods", "pods/log"}},
		{Verbs: []string{"*"}, APIGroups: []string{"batch"}, Resources: []string{"jobs"}},
	}
)

// rulesReactor answers SelfSubjectRulesReviews with rules(ns) and counts
// them.
func rulesReactor(cs *fake.Clientset, n *atomic.Int32, rules func(ns string) []authorizationv1.ResourceRule) {
	cs.PrependReactor("create", "selfsubjectrulesreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		rev := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectRulesReview).DeepCopy()
		if n != nil {
			n.Add(1)
		}
		rev.Status.ResourceRules = rules(rev.Spec.Namespace)
		return true, rev, nil
	})
}

func fixed(rules []authorizationv1.ResourceRule) func(string) []authorizationv1.ResourceRule {
	return func(string) []authorizationv1.ResourceRule { return rules }
}

func TestPermsAllows(t *testing.T) {
	named := []authorizationv1.ResourceRule{{Verbs: []string{"update", "delete", "list", "create"}, APIGroups: []string{""},
		Resources: []string{"secrets"}, ResourceNames: []string{jobdef.SecretName("mine")}}}
	tests := map[string]struct {
		p      *perms
		a      action
		name   string
		want   bool
		denied string
	}{
		"viewer lists":              {p: &perms{Known: true, Rules: viewerRules}, a: actList, want: true},
		"viewer may not run":        {p: &perms{Known: true, Rules: viewerRules}, a: actRun, denied: "create jobs.batch"},
		"viewer may not create":     {p: &perms{Known: true, Rules: viewerRules}, a: actCreateJob, denied: "create secrets"},
		"viewer may not cancel":     {p: &perms{Known: true, Rules: viewerRules}, a: actCancel, name: "r-1", denied: "patch jobs.batch"},
		"viewer may not delete job": {p: &perms{Known: true, Rules: viewerRules}, a: actDeleteJob, denied: "delete secrets"},
		"editor runs":               {p: &perms{Known: true, Rules: editorRules}, a: actRun, want: true},
		"editor deletes a job":      {p: &perms{Known: true, Rules: editorRules}, a: actDeleteJob, name: "x", want: true},
		"wildcards":                 {p: &perms{Known: true, Rules: []authorizationv1.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}}, a: actRun, want: true},
		"no rules":                  {p: &perms{Known: true}, a: actList, denied: "list secrets"},
		"other group":               {p: &perms{Known: true, Rules: []authorizationv1.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"apps"}, Resources: []string{"jobs"}}}}, a: actDeleteRun, name: "r", denied: "delete jobs.batch"},
		"named rule, its name":      {p: &perms{Known: true, Rules: named}, a: actUpdateJob, name: jobdef.SecretName("mine"), want: true},
		"named rule, another name":  {p: &perms{Known: true, Rules: named}, a: actUpdateJob, name: jobdef.SecretName("yours"), denied: "update secrets"},
		"named rule, no name known": {p: &perms{Known: true, Rules: named}, a: actUpdateJob, denied: "update secrets"},
		"named rule never creates":  {p: &perms{Known: true, Rules: named}, a: actCreateJob, denied: "create secrets"},
		"named rule never lists":    {p: &perms{Known: true, Rules: named}, a: actList, denied: "list secrets"},
		"unknown denies nothing":    {p: &perms{}, a: actRun, want: true},
		"incomplete denies nothing": {p: &perms{Known: true, Incomplete: true, Rules: viewerRules}, a: actRun, want: true},
		"nil denies nothing":        {a: actRun, want: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			n, ok := tc.p.missing(tc.a, tc.name)
			if ok != tc.want {
				t.Fatalf("allowed %v, want %v", ok, tc.want)
			}
			if !ok && n.String() != tc.denied {
				t.Errorf("denied %q, want %q", n, tc.denied)
			}
		})
	}
}

// recordingEngine counts what reaches the engine.
type recordingEngine struct{ triggers, deletes atomic.Int32 }

func (e *recordingEngine) Trigger(context.Context, run.Request) (*run.Result, error) {
	e.triggers.Add(1)
	return &run.Result{Run: "typed-1"}, nil
}

func (e *recordingEngine) DeleteJob(context.Context, string, string, run.DeleteJobOptions) (run.DeleteJobResult, error) {
	e.deletes.Add(1)
	return run.DeleteJobResult{}, nil
}

// rbacServer serves namespace team holding job "report" (with schedules)
// and a hook, to a user with rules.
func rbacServer(t *testing.T, n *atomic.Int32, rules func(string) []authorizationv1.ResourceRule) (*schedServer, *recordingEngine) {
	t.Helper()
	cs := fake.NewClientset()
	rulesReactor(cs, n, rules)
	j := scheduledJob()
	sec, err := jobdef.ToSecret(j)
	if err != nil {
		t.Fatal(err)
	}
	sec.ResourceVersion = "1"
	h := hook.ToSecret(j, "abcdefgh12", "tok", "ci", "user:test")
	for _, o := range []runtime.Object{sec, h, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}} {
		if err := cs.Tracker().Add(o); err != nil {
			t.Fatal(err)
		}
	}
	e := &recordingEngine{}
	s, err := NewServer(Config{Client: cs, Engine: e, Namespace: "team",
		WhoAmI: func(context.Context) string { return "user:test" }}, testHost)
	if err != nil {
		t.Fatal(err)
	}
	startSession(s)
	waitNamespaces(s)
	return &schedServer{s: s, cs: cs, store: &jobdef.Store{Client: cs, Namespace: "team"}}, e
}

// buttons are the marks of each write a page offers.
var buttons = map[string][]string{
	"/namespaces/team/jobs":                      {`href="/namespaces/team/new-job"`},
	"/namespaces/team/jobs/report":               {`class="btn btn-primary" href="/namespaces/team/jobs/report/run"`, `id="suspend-nightly"`},
	"/namespaces/team/jobs/report/run":           {`id="run"`},
	"/namespaces/team/jobs/report/configuration": {`id="save"`, `/jobs/report/delete"`},
	"/namespaces/team/jobs/report/hooks":         {`id="create-hook"`, `/hooks/abcdefgh12/delete"`},
}

// TestButtonsFollowRules: a viewer sees no button of a write, an editor
// every one; one review per namespace serves every page meanwhile.
func TestButtonsFollowRules(t *testing.T) {
	for _, who := range []string{"viewer", "editor"} {
		rules := map[string][]authorizationv1.ResourceRule{"viewer": viewerRules, "editor": editorRules}[who]
		var n atomic.Int32
		fs, _ := rbacServer(t, &n, fixed(rules))
		for path, marks := range buttons {
			rec := fs.do("GET", path, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: GET %s: %d", who, path, rec.Code)
			}
			for _, m := range marks {
				if got := strings.Contains(rec.Body.String(), m); got != (who == "editor") {
					t.Errorf("%s: %s shows %s: %v", who, path, m, got)
				}
			}
		}
		if got := n.Load(); got != 1 {
			t.Errorf("%s: %d reviews for %d pages, want 1 (cached)", who, got, len(buttons))
		}
	}
}

// TestRefusedWritesWriteNothing: every POST and confirmation a viewer may
// not use is a 403 page naming what was refused; nothing is written, the
// engine is not called.
func TestRefusedWritesWriteNothing(t *testing.T) {
	fs, e := rbacServer(t, nil, fixed(viewerRules))
	tests := map[string]struct {
		method, path, says string
		form               url.Values
	}{
		"run":             {"POST", "/namespaces/team/jobs/report/run", "create jobs.batch", url.Values{}},
		"create job":      {"POST", "/namespaces/team/new-job", "create secrets", url.Values{"name": {"x"}, "image": {"busybox"}}},
		"create job form": {"GET", "/namespaces/team/new-job", "create secrets", nil},
		"save":            {"POST", "/namespaces/team/jobs/report/configuration", `update secrets "` + jobdef.SecretName("report") + `"`, url.Values{"image": {"other"}}},
		"suspend":         {"POST", "/namespaces/team/jobs/report/schedules/nightly/suspend", "update secrets", url.Values{}},
		"delete job":      {"POST", "/namespaces/team/jobs/report/delete", "delete secrets", url.Values{}},
		"confirm delete":  {"GET", "/namespaces/team/jobs/report/delete", "delete secrets", nil},
		"create hook":     {"POST", "/namespaces/team/jobs/report/hooks", "create secrets", url.Values{"name": {"x"}}},
		"delete hook":     {"POST", "/namespaces/team/jobs/report/hooks/abcdefgh12/delete", "delete secrets", url.Values{}},
		"confirm hook":    {"GET", "/namespaces/team/jobs/report/hooks/abcdefgh12/delete", "delete secrets", nil},
		"cancel":          {"POST", "/namespaces/team/runs/report-1/cancel", `patch jobs.batch "report-1"`, url.Values{}},
		"confirm cancel":  {"GET", "/namespaces/team/runs/report-1/cancel", "patch jobs.batch", nil},
		"delete run":      {"POST", "/namespaces/team/runs/report-1/delete", "delete jobs.batch", url.Values{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fs.cs.ClearActions()
			rec := fs.do(tc.method, tc.path, tc.form)
			body := rec.Body.String()
			if rec.Code != http.StatusForbidden || !strings.Contains(body, "<h1>Forbidden</h1>") ||
				!strings.Contains(body, html.EscapeString(tc.says)) || !strings.Contains(body, `namespace &#34;team&#34;`) {
				t.Fatalf("%d, want a 403 page naming %q in namespace team:\n%.3000s", rec.Code, tc.says, body)
			}
			for _, a := range fs.cs.Actions() {
				if v := a.GetVerb(); v != "get" && v != "list" && v != "watch" && a.GetResource().Resource != "selfsubjectrulesreviews" {
					t.Errorf("wrote: %s %s", v, a.GetResource().Resource)
				}
			}
		})
	}
	if e.triggers.Load() != 0 || e.deletes.Load() != 0 {
		t.Errorf("the engine was called: %d triggers, %d deletes", e.triggers.Load(), e.deletes.Load())
	}
}

// TestPostsAskAfresh: a POST reviews again (a right revoked since the page
// was shown is refused before any write), and an allowed one goes on.
func TestPostsAskAfresh(t *testing.T) {
	var n atomic.Int32
	var revoked atomic.Bool
	fs, e := rbacServer(t, &n, func(string) []authorizationv1.ResourceRule {
		if revoked.Load() {
			return viewerRules
		}
		return editorRules
	})
	if rec := fs.do("GET", "/namespaces/team/jobs/report/run", nil); !strings.Contains(rec.Body.String(), `id="run"`) {
		t.Fatalf("editor's run tab has no Run button")
	}
	if rec := fs.do("POST", "/namespaces/team/jobs/report/run", url.Values{}); rec.Code != http.StatusSeeOther || e.triggers.Load() != 1 {
		t.Fatalf("editor's run: %d, %d triggers", rec.Code, e.triggers.Load())
	}
	revoked.Store(true)
	if rec := fs.do("POST", "/namespaces/team/jobs/report/run", url.Values{}); rec.Code != http.StatusForbidden || e.triggers.Load() != 1 {
		t.Fatalf("run after the right was revoked: %d, %d triggers", rec.Code, e.triggers.Load())
	}
}

// TestReviewFailureShowsButtons: when the API cannot say (the review
// fails), every button shows and the API server decides; the failure is
// cached like an answer.
func TestReviewFailureShowsButtons(t *testing.T) {
	cs := fake.NewClientset()
	var n atomic.Int32
	cs.PrependReactor("create", "selfsubjectrulesreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		n.Add(1)
		return true, nil, errors.New("the server could not find the requested resource")
	})
	s, err := NewServer(Config{Client: cs, Engine: noEngine{}, Namespace: "team"}, testHost)
	if err != nil {
		t.Fatal(err)
	}
	startSession(s)
	waitNamespaces(s)
	fs := &schedServer{s: s, cs: cs}
	for range 3 {
		if body := fs.do("GET", "/namespaces/team/jobs", nil).Body.String(); !strings.Contains(body, `href="/namespaces/team/new-job"`) {
			t.Fatalf("no Create job button when the review failed")
		}
	}
	if n.Load() != 1 {
		t.Errorf("%d reviews, want 1", n.Load())
	}
}

// TestSwitcherListsReadableNamespaces: the switcher lists the namespaces
// whose jobs the user may list (and the current one, typed).
func TestSwitcherListsReadableNamespaces(t *testing.T) {
	var objs []runtime.Object
	for _, ns := range []string{"a", "b", "c", "team"} {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	cs := fake.NewClientset(objs...)
	rulesReactor(cs, nil, func(ns string) []authorizationv1.ResourceRule {
		if ns == "a" || ns == "team" {
			return viewerRules
		}
		if ns == "b" {
			return []authorizationv1.ResourceRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}}}
		}
		return nil
	})
	s, err := NewServer(Config{Client: cs, Engine: noEngine{}, Namespace: "team"}, testHost)
	if err != nil {
		t.Fatal(err)
	}
	waitNamespaces(s)
	if got := s.namespaces(t.Context(), ""); !slices.Equal(got, []string{"a", "team"}) {
		t.Errorf("switcher lists %v, want [a team]", got)
	}
}

// TestRefusedReadsArePages: whatever page the API server refuses is a 403
// page (a missing object a 404), never a 500.
func TestRefusedReadsArePages(t *testing.T) {
	pages := []string{"/namespaces/team/jobs", "/namespaces/team/jobs/report", "/namespaces/team/jobs/report/run",
		"/namespaces/team/jobs/report/configuration", "/namespaces/team/jobs/report/hooks", "/namespaces/team/jobs/report/delete",
		"/namespaces/team/jobs/report/hooks/abcdefgh12/delete", "/namespaces/team/runs/report-1",
		"/namespaces/team/runs/report-1/logs", "/namespaces/team/runs/report-1/cancel", "/namespaces/team/runs/report-1/delete"}
	gr := schema.GroupResource{Resource: "secrets"}
	for name, tc := range map[string]struct {
		err  error
		code int
	}{
		"forbidden": {apierrors.NewForbidden(gr, "", errors.New(`User "viewer" cannot list resource "secrets" in API group "" in the namespace "team"`)), http.StatusForbidden},
		"not found": {apierrors.NewNotFound(gr, "x"), http.StatusNotFound},
	} {
		fs, _ := rbacServer(t, nil, fixed(editorRules))
		for _, res := range []string{"secrets", "jobs", "pods"} {
			fs.cs.PrependReactor("*", res, func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, tc.err })
		}
		for _, path := range pages {
			rec := fs.do("GET", path, nil)
			if rec.Code != tc.code {
				t.Errorf("%s: GET %s: %d, want %d", name, path, rec.Code, tc.code)
			}
			if !strings.Contains(rec.Body.String(), "<h1>") {
				t.Errorf("%s: GET %s: not a page of the site: %.300s", name, path, rec.Body.String())
			}
		}
	}
}
