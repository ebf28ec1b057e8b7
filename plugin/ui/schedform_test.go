package ui

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

type schedServer struct {
	s     *Server
	cs    *fake.Clientset
	store *jobdef.Store
}

// newSchedServer serves the UI over a fake cluster holding jobs.
func newSchedServer(t *testing.T, jobs ...*jobdef.Job) *schedServer {
	t.Helper()
	return newSchedServerWith(t, nil, jobs...)
}

// newSchedServerWith is newSchedServer with setup run on the clientset
// before the server starts (its reactors).
func newSchedServerWith(t *testing.T, setup func(*fake.Clientset), jobs ...*jobdef.Job) *schedServer {
	t.Helper()
	cs := fake.NewClientset()
	if setup != nil {
		setup(cs)
	}
	for _, j := range jobs {
		sec, err := jobdef.ToSecret(j)
		if err != nil {
			t.Fatal(err)
		}
		sec.ResourceVersion = "1"
		if err := cs.Tracker().Add(sec); err != nil {
			t.Fatal(err)
		}
	}
	s, err := NewServer(Config{Client: cs, Engine: noEngine{}, Namespace: "team",
		WhoAmI: func(context.Context) string { return "user:test" }}, testHost)
	if err != nil {
		t.Fatal(err)
	}
	startSession(s)
	return &schedServer{s: s, cs: cs, store: &jobdef.Store{Client: cs, Namespace: "team"}}
}

// do sends a request (a POST when form is not nil) with the session.
func (fs *schedServer) do(method, path string, form url.Values) *httptest.ResponseRecorder {
	var r *http.Request
	if form == nil {
		r = httptest.NewRequest(method, "http://"+testHost+path, nil)
	} else {
		form.Set(csrfField, fs.s.sess.csrf)
		r = httptest.NewRequest(method, "http://"+testHost+path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	r.AddCookie(&http.Cookie{Name: fs.s.sess.cookieName(), Value: fs.s.sess.cookie})
	w := httptest.NewRecorder()
	fs.s.Handler().ServeHTTP(w, r)
	return w
}

// TestScheduleFormShowsEveryField: every field the round trip posts is an
// input of the rendered Configuration tab, with a label.
func TestScheduleFormShowsEveryField(t *testing.T) {
	j := fullJob()
	j.Spec.Registry = ""
	fs := newSchedServer(t, j)
	page := fs.do("GET", "/namespaces/team/jobs/migrate/configuration", nil)
	body := page.Body.String()
	if page.Code != http.StatusOK {
		t.Fatalf("configuration: %d\n%s", page.Code, body)
	}
	for name := range submitted(formOf(j)) {
		if name != "name" && !strings.Contains(body, `name="`+name+`"`) {
			t.Errorf("the form has no input %q", name)
		}
	}
	for _, want := range []string{`id="sched-0-cron"`, `<label for="sched-0-cron">`, `<label for="sched-1-zone">`,
		`<label for="sched-0-p-0">STEPS</label>`, `type="number"`, `aria-label="TOKEN: Secret name"`,
		`<option value="down" selected>down</option>`, `list="zones"`, `id="startingDeadline" name="startingDeadline" value="10m"`,
		`name="sched.1.suspend" id="sched-1-suspend" value="1" checked`, `id="sched-2-name"`} {
		if !strings.Contains(body, want) {
			t.Errorf("configuration tab lacks %s", want)
		}
	}
}

// schedPost is a Configuration form of j with schedule 0 changed by set.
func schedPost(j *jobdef.Job, set map[string]string) url.Values {
	v := submitted(formOf(j))
	for k, val := range set {
		v.Set(k, val)
	}
	return v
}

// TestScheduleFormBadInput: invalid schedule input comes back as an error
// on its field (422) and nothing is written.
func TestScheduleFormBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  map[string]string
		want string // in the field error
	}{
		{"cron", map[string]string{"sched.0.cron": "61 * * * *"}, `invalid cron expression &#34;61 * * * *&#34;`},
		{"cron in zone", map[string]string{"sched.0.cron": "TZ=UTC 0 3 * * *"}, `give the zone as the time zone`},
		{"zone", map[string]string{"sched.0.zone": "Mars/Olympus"}, `unknown time zone &#34;Mars/Olympus&#34;`},
		{"name", map[string]string{"sched.1.name": "Hourly_1"}, `invalid schedule name &#34;Hourly_1&#34;`},
		{"twice", map[string]string{"sched.1.name": "nightly"}, `schedule &#34;nightly&#34; is given twice`},
		{"integer", map[string]string{"sched.0.p.0.value": "five"}, `five`},
		{"enum", map[string]string{"sched.0.p.2.value": "sideways"}, `sideways`},
		{"secret key", map[string]string{"sched.0.p.1.secretKey": "bad key!"}, `invalid secret key &#34;bad key!&#34;`},
		{"deadline", map[string]string{"startingDeadline": "soon"}, `soon`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := fullJob()
			j.Spec.Registry = ""
			fs := newSchedServer(t, j)
			before, err := fs.store.Get(t.Context(), "migrate")
			if err != nil {
				t.Fatal(err)
			}
			v := schedPost(before, tc.set)
			v.Set("resourceVersion", before.ResourceVersion)
			rec := fs.do("POST", "/namespaces/team/jobs/migrate/configuration", v)
			body := rec.Body.String()
			if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, tc.want) ||
				!strings.Contains(body, `class="field-error" role="alert">`) {
				t.Fatalf("%d, want the field error %s:\n%s", rec.Code, html.UnescapeString(tc.want), body)
			}
			after, err := fs.store.Get(t.Context(), "migrate")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(after, before) {
				t.Errorf("the definition changed on bad input")
			}
		})
	}
}

// TestScheduleFormEdits: the Configuration tab adds, changes and removes
// schedules; the Create job page takes them too.
func TestScheduleFormEdits(t *testing.T) {
	j := fullJob()
	j.Spec.Registry, j.Spec.Notifications = "", nil // no signing secret page after the save
	fs := newSchedServer(t, j)
	v := schedPost(j, map[string]string{"sched.0.cron": "30 4 * * 1-5", "sched.0.suspend": "1", "sched.1.remove": "1",
		"sched.2.name": "weekly", "sched.2.cron": "@weekly", "sched.2.zone": "Asia/Tokyo", "sched.2.p.0.name": "STEPS",
		"sched.2.p.0.value": "7"})
	v.Set("resourceVersion", "1")
	if rec := fs.do("POST", "/namespaces/team/jobs/migrate/configuration", v); rec.Code != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", rec.Code, rec.Body.String())
	}
	got, err := fs.store.Get(t.Context(), "migrate")
	if err != nil {
		t.Fatal(err)
	}
	want := []jobdef.Schedule{
		{Name: "nightly", Cron: "30 4 * * 1-5", TimeZone: "Europe/Helsinki", Suspend: true, Parameters: j.Spec.Schedules[0].Parameters},
		{Name: "weekly", Cron: "@weekly", TimeZone: "Asia/Tokyo", Parameters: []jobdef.ScheduleParam{{Name: "STEPS", Value: "7"}}},
	}
	if !reflect.DeepEqual(got.Spec.Schedules, want) {
		t.Fatalf("schedules saved:\n got %+v\nwant %+v", got.Spec.Schedules, want)
	}

	create := url.Values{"name": {"report"}, "image": {"busybox"}, "retries": {"0"}, "memory": {"256Mi"}, "cpu": {"250m"}, "timeout": {"15m"}, "retention": {"14d"},
		"sched.0.name": {"daily"}, "sched.0.cron": {"0 6 * * *"}, "sched.0.zone": {"Europe/Berlin"}}
	if rec := fs.do("POST", "/namespaces/team/new-job", create); rec.Code != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", rec.Code, alerts(rec.Body.String()))
	}
	got, err = fs.store.Get(t.Context(), "report")
	if err != nil {
		t.Fatal(err)
	}
	if want := []jobdef.Schedule{{Name: "daily", Cron: "0 6 * * *", TimeZone: "Europe/Berlin"}}; !reflect.DeepEqual(got.Spec.Schedules, want) {
		t.Fatalf("created with schedules %+v, want %+v", got.Spec.Schedules, want)
	}
	// A bad expression on the Create page creates nothing.
	create.Set("name", "report2")
	create.Set("sched.0.cron", "every day")
	if rec := fs.do("POST", "/namespaces/team/new-job", create); rec.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(rec.Body.String(), "invalid cron expression") {
		t.Fatalf("create with a bad cron: %d", rec.Code)
	}
	if _, err := fs.store.Get(t.Context(), "report2"); err == nil {
		t.Fatal("report2 was created with a bad cron expression")
	}
}

// TestParseSchedulesSkipsBlankAndRemoved: a blank row (parameter names
// only) and a removed one are no schedules.
func TestParseSchedulesSkipsBlankAndRemoved(t *testing.T) {
	v := url.Values{"sched.0.name": {" a "}, "sched.0.cron": {" @daily "}, "sched.0.p.0.name": {"P"}, "sched.0.p.0.value": {" x "},
		"sched.1.name": {"b"}, "sched.1.cron": {"@hourly"}, "sched.1.remove": {"1"},
		"sched.2.name": {""}, "sched.2.p.0.name": {"P"}, "sched.2.p.0.value": {""}}
	r := urlencodedPost(v)
	if err := r.ParseForm(); err != nil {
		t.Fatal(err)
	}
	got := parseSchedules(r)
	want := []schedRow{{Name: "a", Cron: "@daily", Errors: map[string]string{}, Params: []schedParam{{Name: "P", Value: " x "}}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

// alerts are the error lines of a page.
func alerts(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, `role="alert"`) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, "\n")
}
