package ui

import (
	"net/url"
	"reflect"
	"testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

func runJob() *jobdef.Job {
	j := jobdef.New("team", "migrate")
	j.Spec.Image = "acme/migrate"
	j.Spec.Parameters = []jobdef.Parameter{
		{Name: "TARGET", Default: "latest", Description: "version to migrate to"},
		{Name: "VERSION", Pattern: "^v[0-9]+$", Required: true},
		{Name: "STEPS", Type: jobdef.ParamInteger, Default: "1"},
		{Name: "RATIO", Type: jobdef.ParamNumber},
		{Name: "DRY", Type: jobdef.ParamBoolean, Default: "false"},
		{Name: "MODE", Enum: []string{"up", "down"}, Default: "up"},
		{Name: "TOKEN", Secret: true, Default: "s3cr3t"},
		{Name: "KEY", Secret: true, Required: true},
		{Name: "NOTE", Secret: true},
	}
	return j
}

func TestNewRunFormEveryField(t *testing.T) {
	f := newRunForm(runJob())
	want := runForm{TagAllowed: true, Params: []paramInput{
		{Name: "TARGET", Value: "latest", Description: "version to migrate to", Kind: "text"},
		{Name: "VERSION", Required: true, Hint: "must match ^v[0-9]+$", Kind: "text"},
		{Name: "STEPS", Value: "1", Hint: "an integer", Kind: "integer"},
		{Name: "RATIO", Hint: "a number", Kind: "number"},
		{Name: "DRY", Value: "false", Kind: "checkbox"},
		{Name: "MODE", Value: "up", Enum: []string{"up", "down"}, Kind: "select"},
		{Name: "TOKEN", Secret: true, Hint: "empty keeps the job's default", Kind: "password"},
		{Name: "KEY", Secret: true, Required: true, Kind: "password"},
		{Name: "NOTE", Secret: true, Kind: "password"},
	}}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("newRunForm:\n got %+v\nwant %+v", f, want)
	}
}

func TestNewRunFormTag(t *testing.T) {
	for name, c := range map[string]struct {
		digest   string
		override bool
		want     bool
	}{
		"tag":                 {"", false, true},
		"digest-pinned":       {"sha256:abc", false, false},
		"pinned, overridable": {"sha256:abc", true, true},
	} {
		j := runJob()
		j.Spec.Digest, j.Spec.AllowTagOverride = c.digest, c.override
		if got := newRunForm(j).TagAllowed; got != c.want {
			t.Errorf("%s: TagAllowed %v, want %v", name, got, c.want)
		}
	}
	// A boolean with its own enum keeps it; no parameters, no rows.
	j := jobdef.New("team", "x")
	j.Spec.Parameters = []jobdef.Parameter{{Name: "B", Type: jobdef.ParamBoolean, Enum: []string{"true"}}}
	if got := newRunForm(j).Params[0].Enum; !reflect.DeepEqual(got, []string{"true"}) {
		t.Errorf("boolean with enum: %v", got)
	}
	if got := newRunForm(jobdef.New("team", "x")).Params; got != nil {
		t.Errorf("no parameters: %+v", got)
	}
}

// TestRunFormRoundTrip: a Run form submitted as shown triggers with the
// job's defaults; secret defaults stay the job's (left out), never shown.
func TestRunFormRoundTrip(t *testing.T) {
	f := newRunForm(runJob())
	v := url.Values{}
	for _, p := range f.Params {
		if p.Kind != "checkbox" || p.Value == "true" { // an unchecked box sends nothing
			v.Set("param."+p.Name, p.Value)
		}
	}
	params := f.readParams(urlencodedPost(v))
	want := map[string]string{"TARGET": "latest", "VERSION": "", "STEPS": "1", "RATIO": "", "DRY": "false",
		"MODE": "up", "KEY": ""}
	if !reflect.DeepEqual(params, want) {
		t.Fatalf("params %v, want %v", params, want)
	}
	if !reflect.DeepEqual(f, newRunForm(runJob())) {
		t.Errorf("the form changed: %+v", f)
	}
}

func TestRunFormReadParams(t *testing.T) {
	f := newRunForm(runJob())
	v := url.Values{"param.TARGET": {"v2"}, "param.VERSION": {"v7"}, "param.STEPS": {"many"}, "param.MODE": {"sideways"},
		"param.TOKEN": {"typed-secret"}, "param.KEY": {"typed-key"}, "param.NOTE": {""},
		"param.UNKNOWN": {"x"}, "tag": {" 2.0 "}}
	params := f.readParams(urlencodedPost(v))
	// Values are passed on as typed: checking them is the trigger's job
	// (its refusal comes back next to the field). Unknown names are not read.
	want := map[string]string{"TARGET": "v2", "VERSION": "v7", "STEPS": "many", "RATIO": "", "DRY": "false",
		"MODE": "sideways", "TOKEN": "typed-secret", "KEY": "typed-key"}
	if !reflect.DeepEqual(params, want) {
		t.Fatalf("params %v, want %v", params, want)
	}
	got := map[string]string{}
	for _, p := range f.Params {
		got[p.Name] = p.Value
	}
	// The form shown again keeps what was typed, but no secret.
	wantShown := map[string]string{"TARGET": "v2", "VERSION": "v7", "STEPS": "many", "RATIO": "", "DRY": "false",
		"MODE": "sideways", "TOKEN": "", "KEY": "", "NOTE": ""}
	if !reflect.DeepEqual(got, wantShown) {
		t.Errorf("form values %v, want %v", got, wantShown)
	}
	if f.Tag != "" {
		t.Errorf("readParams set the tag: %q", f.Tag)
	}
}
