package ui

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"

	"golang.org/x/net/html"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// notInForm are the fields of a job definition the job form does not
// edit, each with the reason. Everything else must be in the form: a field
// added to the definition fails TestJobFormCoversEveryField until fullJob
// sets it and the form carries it.
var notInForm = map[string]string{
	"apiVersion":        "the type's identity, set by the store",
	"kind":              "the type's identity, set by the store",
	"metadata.name":     "the URL names the job; the Create page has its own name field (tested there)",
	"metadata.metadata": "Kubernetes object metadata other than name and labels is the store's (resourceVersion is the form's hidden conflict check)",
	"status":            "computed from the runs when read, never stored",
}

// allowed reports whether path p is in notInForm or under a path there.
func allowed(p string) bool {
	for k := range notInForm {
		if p == k || strings.HasPrefix(p, k+".") {
			return true
		}
	}
	return false
}

// newFullServer serves fullJob over a fake cluster with its registry.
func newFullServer(t *testing.T) *schedServer {
	t.Helper()
	fs := newSchedServer(t, fullJob())
	if _, err := fs.store.CreateRegistry(t.Context(), "ghcr", "ghcr.io", "", "", writeOpts); err != nil {
		t.Fatal(err)
	}
	return fs
}

// fieldPaths lists the leaf fields of t by JSON name ("spec.parameters[].enum");
// structs and pointers to structs are walked, anything else is a leaf.
func fieldPaths(t reflect.Type, prefix string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct {
		fieldPaths(t.Elem(), prefix+"[]", out)
		return
	}
	if t.Kind() != reflect.Struct || prefix == "metadata" {
		*out = append(*out, prefix)
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" { // inline
			fieldPaths(f.Type, prefix, out)
			continue
		}
		p := name
		if prefix != "" {
			p = prefix + "." + name
		}
		fieldPaths(f.Type, p, out)
	}
}

// fieldValues are v's leaf values by path with indices ("spec.parameters[2].enum")
// and the same path without them.
func fieldValues(v reflect.Value, path, norm string, out map[string]reflect.Value, norms map[string]string) {
	for v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.Struct {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch {
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		for i := range v.Len() {
			fieldValues(v.Index(i), fmt.Sprintf("%s[%d]", path, i), norm+"[]", out, norms)
		}
		return
	case v.Kind() != reflect.Struct || path == "metadata":
		out[path], norms[path] = v, norm
		return
	}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			fieldValues(v.Field(i), path, norm, out, norms)
			continue
		}
		p, n := name, name
		if path != "" {
			p, n = path+"."+name, norm+"."+name
		}
		fieldValues(v.Field(i), p, n, out, norms)
	}
}

// leaves are j's metadata name and labels and its spec's leaf values.
func leaves(j *jobdef.Job) (map[string]reflect.Value, map[string]string) {
	vals, norms := map[string]reflect.Value{}, map[string]string{}
	fieldValues(reflect.ValueOf(j.Spec), "spec", "spec", vals, norms)
	vals["metadata.labels"], norms["metadata.labels"] = reflect.ValueOf(j.Labels), "metadata.labels"
	return vals, norms
}

// TestJobFormCoversEveryField walks the job definition's fields: each one
// is set in fullJob (so that the round trips below carry it) or allowed
// in notInForm with a reason; then the Configuration page of fullJob,
// submitted as a browser submits it, creates the same job from nothing.
func TestJobFormCoversEveryField(t *testing.T) {
	var paths []string
	fieldPaths(reflect.TypeOf(jobdef.Job{}), "", &paths)
	vals, norms := leaves(fullJob())
	set := map[string]bool{}
	for p, v := range vals {
		if !v.IsZero() {
			set[norms[p]] = true
		}
	}
	for _, p := range paths {
		if allowed(p) || set[p] {
			continue
		}
		if strings.HasPrefix(p, "metadata") {
			continue // name and labels checked below
		}
		t.Errorf("field %s of the job definition is not set by fullJob: show it in the job form and set it there, or allow it in notInForm with the reason", p)
	}
	if !set["metadata.labels"] {
		t.Error("fullJob sets no labels")
	}

	fs := newFullServer(t)
	page := fs.do("GET", "/namespaces/team/jobs/migrate/configuration", nil)
	if page.Code != http.StatusOK {
		t.Fatalf("configuration: %d", page.Code)
	}
	v := browserSubmit(t, page.Body.String())
	v.Set("name", "migrate2")
	v.Set("param.3.default", "s3cr3t") // typed: the page never has it
	// Created with notifications: 201 with the signing secret, shown once.
	if rec := fs.do("POST", "/namespaces/team/new-job", v); rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), `id="signing-secret-value"`) {
		t.Fatalf("create from the Configuration page's fields: %d\n%s", rec.Code, alerts(rec.Body.String()))
	}
	got, err := fs.store.Get(t.Context(), "migrate2")
	if err != nil {
		t.Fatal(err)
	}
	gotVals, _ := leaves(got)
	var diff []string
	for p, want := range vals {
		if g, ok := gotVals[p]; !ok || !reflect.DeepEqual(g.Interface(), want.Interface()) {
			diff = append(diff, fmt.Sprintf("%s: got %v, want %v", p, g, want))
		}
	}
	for p := range gotVals {
		if _, ok := vals[p]; !ok {
			diff = append(diff, p+": not in fullJob")
		}
	}
	sort.Strings(diff)
	if len(diff) > 0 {
		t.Errorf("the job form does not carry these fields:\n%s", strings.Join(diff, "\n"))
	}
}

// TestConfigurationSavedUnchanged: the Configuration page of a fully
// populated definition, saved as the browser submits it, changes nothing
// (the secret default it never showed included).
func TestConfigurationSavedUnchanged(t *testing.T) {
	fs := newFullServer(t)
	before, err := fs.store.Get(t.Context(), "migrate")
	if err != nil {
		t.Fatal(err)
	}
	page := fs.do("GET", "/namespaces/team/jobs/migrate/configuration", nil)
	body := page.Body.String()
	if page.Code != http.StatusOK || strings.Contains(body, "s3cr3t") {
		t.Fatalf("configuration (%d) shows the secret default", page.Code)
	}
	// The first save gives the notifications their signing secret.
	if rec := fs.do("POST", "/namespaces/team/jobs/migrate/configuration", browserSubmit(t, body)); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `id="signing-secret-value"`) {
		t.Fatalf("save unchanged: %d\n%s", rec.Code, alerts(rec.Body.String()))
	}
	page = fs.do("GET", "/namespaces/team/jobs/migrate/configuration", nil)
	if rec := fs.do("POST", "/namespaces/team/jobs/migrate/configuration", browserSubmit(t, page.Body.String())); rec.Code != http.StatusSeeOther {
		t.Fatalf("save unchanged again: %d\n%s", rec.Code, alerts(rec.Body.String()))
	}
	after, err := fs.store.Get(t.Context(), "migrate")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after.Spec, before.Spec) || !reflect.DeepEqual(after.Labels, before.Labels) {
		t.Fatalf("saved unchanged:\n got %+v\nwant %+v", after.Spec, before.Spec)
	}
}

// browserSubmit is what a browser posts for the job form in page: inputs
// (checkboxes when checked; no files), textareas and selects' chosen options.
func browserSubmit(t *testing.T, page string) url.Values {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	attr := func(n *html.Node, k string) (string, bool) {
		for _, a := range n.Attr {
			if a.Key == k {
				return a.Val, true
			}
		}
		return "", false
	}
	text := func(n *html.Node) string {
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.TextNode {
				b.WriteString(c.Data)
			}
		}
		return b.String()
	}
	v := url.Values{}
	var form *html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			name, named := attr(n, "name")
			switch n.Data {
			case "form":
				if _, ok := attr(n, "enctype"); ok && form == nil {
					form = n
				}
			case "input":
				typ, _ := attr(n, "type")
				_, checked := attr(n, "checked")
				val, _ := attr(n, "value")
				if named && typ != "file" && typ != "submit" && ((typ != "checkbox" && typ != "radio") || checked) {
					v.Add(name, val)
				}
			case "textarea":
				if named {
					v.Add(name, text(n))
				}
			case "select":
				var first, chosen *html.Node
				for o := n.FirstChild; o != nil; o = o.NextSibling {
					if o.Type != html.ElementNode || o.Data != "option" {
						continue
					}
					if first == nil {
						first = o
					}
					if _, sel := attr(o, "selected"); sel {
						chosen = o
					}
				}
				if chosen == nil {
					chosen = first
				}
				if named && chosen != nil {
					val, ok := attr(chosen, "value")
					if !ok {
						val = text(chosen)
					}
					v.Add(name, val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if form == nil {
		t.Fatal("no job form on the page")
	}
	v.Del(csrfField)
	return v
}

// TestSigningSecretShownOnce: the notifications' signing secret is shown
// when it is made and when it is rotated, and on no other page.
func TestSigningSecretShownOnce(t *testing.T) {
	fs := newFullServer(t)
	secretOf := func() string {
		sec, err := fs.cs.CoreV1().Secrets("team").Get(t.Context(), jobdef.SigningSecretName("migrate"), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return string(sec.Data[jobdef.SigningSecretKey])
	}
	page := fs.do("GET", "/namespaces/team/jobs/migrate/configuration", nil)
	if strings.Contains(page.Body.String(), `id="signing-secret"`) || !strings.Contains(page.Body.String(), `id="rotate-signing-secret"`) {
		t.Fatal("configuration: a signing secret shown, or no Rotate button")
	}
	rec := fs.do("POST", "/namespaces/team/jobs/migrate/configuration", browserSubmit(t, page.Body.String()))
	first := secretOf()
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `<code id="signing-secret-value">`+first+`</code>`) {
		t.Fatalf("save with notifications: %d, the new signing secret not shown", rec.Code)
	}
	page = fs.do("GET", "/namespaces/team/jobs/migrate/configuration", nil)
	if strings.Contains(page.Body.String(), first) {
		t.Fatal("the configuration tab shows the signing secret again")
	}
	rec = fs.do("POST", "/namespaces/team/jobs/migrate/signing-secret", url.Values{})
	second := secretOf()
	if rec.Code != http.StatusOK || second == first || !strings.Contains(rec.Body.String(), `<code id="signing-secret-value">`+second+`</code>`) ||
		strings.Contains(rec.Body.String(), first) {
		t.Fatalf("rotate: %d, the new secret not shown (or the old one shown)", rec.Code)
	}
	for _, path := range []string{"/namespaces/team/jobs/migrate/configuration", "/namespaces/team/jobs/migrate",
		"/namespaces/team/jobs/migrate/run", "/namespaces/team/jobs"} {
		if body := fs.do("GET", path, nil).Body.String(); strings.Contains(body, second) || strings.Contains(body, "s3cr3t") {
			t.Errorf("%s shows a secret", path)
		}
	}
	// Rotating needs the session's CSRF token like every write.
	r := httptest.NewRequest("POST", "http://"+testHost+"/namespaces/team/jobs/migrate/signing-secret", nil)
	r.AddCookie(&http.Cookie{Name: fs.s.sess.cookieName(), Value: fs.s.sess.cookie})
	w := httptest.NewRecorder()
	fs.s.Handler().ServeHTTP(w, r)
	if w.Code < 400 || secretOf() != second {
		t.Errorf("rotate without CSRF: %d", w.Code)
	}
}

// TestJobFormBadInput: a bad value in a field of the form comes back as
// a one-line error next to that field (422) and nothing is written.
func TestJobFormBadInput(t *testing.T) {
	for name, c := range map[string]struct{ key, value, input, want string }{
		"tasks":          {"tasks", "four", "tasks", `invalid tasks "four": want a whole number`},
		"parallelism":    {"parallelism", "9", "parallelism", "invalid parallelism 9"},
		"max active":     {"maxActiveRuns", "-1", "maxActiveRuns", "invalid maxActiveRuns -1"},
		"history":        {"failedRunsHistoryLimit", "x", "failedRunsHistoryLimit", `invalid failed runs kept "x"`},
		"concurrency":    {"concurrencyPolicy", "Sometimes", "concurrencyPolicy", `invalid concurrency policy "Sometimes"`},
		"labels":         {"labels", "team", "labels", `invalid label "team": want key=value`},
		"reserved label": {"labels", "shipjob.dev/x=1", "labels", "prefix is reserved"},
		"notification":   {"notif.1.url", "ftp://hooks.example.com/b", "notif-1-url", "ftp"},
		"format":         {"notif.0.format", "xml", "notif-0-format", "xml"},
		"enum":           {"param.2.default", "sideways", "param-2-default", "sideways"},
		"pattern":        {"param.0.pattern", "([", "param-0-pattern", "pattern"},
		"type":           {"param.1.type", "date", "param-1-type", "date"},
		"retention":      {"retentionFailed", "soon", "retentionFailed", "soon"},
		"requests":       {"requestsMemory", "lots", "requestsMemory", "lots"},
	} {
		t.Run(name, func(t *testing.T) {
			fs := newFullServer(t)
			before := objectsOf(t, fs)
			page := fs.do("GET", "/namespaces/team/jobs/migrate/configuration", nil)
			v := browserSubmit(t, page.Body.String())
			v.Set(c.key, c.value)
			rec := fs.do("POST", "/namespaces/team/jobs/migrate/configuration", v)
			body := rec.Body.String()
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("%d, want 422\n%s", rec.Code, alerts(body))
			}
			i := strings.Index(body, `id="`+c.input+`"`)
			if i < 0 {
				t.Fatalf("no input %s", c.input)
			}
			// The error is within the field: before the next field's label
			// (a row of a fieldset: before the fieldset's end).
			rest := body[i:]
			end := "<label"
			if strings.HasPrefix(c.input, "param-") || strings.HasPrefix(c.input, "notif-") {
				end = "</fieldset>"
			}
			k := strings.Index(rest, `class="field-error"`)
			if k < 0 || k > strings.Index(rest, end) || !strings.Contains(rest[k:k+300], html.EscapeString(c.want)) {
				t.Fatalf("no error %q in the field of %s: %s", c.want, c.input, alerts(body))
			}
			if end := strings.Index(rest[k:], "</p>"); strings.Contains(rest[k:k+end], "\n") {
				t.Errorf("the error is not one line: %s", rest[k:k+end])
			}
			if after := objectsOf(t, fs); after != before {
				t.Errorf("a refused form wrote something")
			}
		})
	}
}

// objectsOf are the names and versions of the namespace's Secrets.
func objectsOf(t *testing.T, fs *schedServer) string {
	t.Helper()
	list, err := fs.cs.CoreV1().Secrets("team").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, s := range list.Items {
		fmt.Fprintf(&b, "%s@%s ", s.Name, s.ResourceVersion)
	}
	return b.String()
}
