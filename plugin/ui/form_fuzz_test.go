package ui

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// fuzzPost is a POST of an arbitrary urlencoded body, as a browser (or
// anyone on the loopback with the session) can send.
func fuzzPost(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// FuzzJobForm: the job form's parsing never panics on any body; applied
// to the stored job it never panics either, and a definition it produces
// that validates shows and submits again to the same definition.
func FuzzJobForm(f *testing.F) {
	f.Add(submitted(formOf(fullJob())).Encode())
	f.Add("name=a&image=busybox&retries=0&env.0.name=A&env.0.value=%00&param.0.name=P&param.0.clear=1")
	f.Add("file.0.path=/a&file.0.content=%%%&sched.0.name=n&sched.0.cron=@hourly&sched.0.p.0.name=TOKEN&sched.0.p.0.secretName=s")
	f.Add("image=ghcr.io/a/b@sha256:" + strings.Repeat("a", 64) + "&tag=latest&retries=99999999999")
	f.Add("memory=custom&memory.custom=1e9&cpu=&cpu.custom=%20&pullSecrets=,,a,&sched.0.zone=Local&sched.1.cron=x")
	f.Fuzz(func(t *testing.T, body string) {
		form := parseForm(fuzzPost(body))
		j := fullJob()
		form.apply(j)
		if len(form.Errors) != 0 || j.Validate() != nil {
			return
		}
		again := parseForm(urlencodedPost(submitted(formOf(j))))
		k := j.DeepCopy()
		again.apply(k)
		if len(again.Errors) != 0 {
			t.Fatalf("valid %+v shows with errors %v", j.Spec, again.Errors)
		}
		if !reflect.DeepEqual(j, k) {
			t.Fatalf("form round trip changed the definition:\n got %+v\nwant %+v", k.Spec, j.Spec)
		}
	})
}

// FuzzRunForm: reading the Run form never panics, reads only the job's
// parameters, and never keeps a secret parameter's value for showing.
func FuzzRunForm(f *testing.F) {
	f.Add("param.TARGET=v2&param.TOKEN=typed&param.KEY=k&param.UNKNOWN=x&tag=1")
	f.Add("param.TOKEN=&param.TOKEN=x&param.NOTE=%00")
	f.Fuzz(func(t *testing.T, body string) {
		j := runJob()
		form := newRunForm(j)
		params := form.readParams(fuzzPost(body))
		known := map[string]bool{}
		for _, p := range j.Spec.Parameters {
			known[p.Name] = true
		}
		for name := range params {
			if !known[name] {
				t.Fatalf("read unknown parameter %q", name)
			}
		}
		for _, p := range form.Params {
			if p.Secret && p.Value != "" {
				t.Fatalf("secret %s kept for showing: %q", p.Name, p.Value)
			}
		}
	})
}
