package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// checkingEngine triggers nothing: it refuses parameters as the trigger does.
type checkingEngine struct {
	noEngine
	job *jobdef.Job
	got map[string]string
}

func (e *checkingEngine) Trigger(_ context.Context, req run.Request) (*run.Result, error) {
	e.got = req.Params
	for _, p := range e.job.Spec.Parameters {
		if v := req.Params[p.Name]; v != "" {
			if err := p.Check(v); err != nil {
				return nil, &run.InputError{Param: p.Name, Err: err}
			}
		}
	}
	return &run.Result{Run: "migrate-abc"}, nil
}

// TestRunTabTypedInputs: the Run tab renders each parameter's type as its
// input, labelled, its description and hint linked as its description;
// the trigger's refusal comes back next to the field.
func TestRunTabTypedInputs(t *testing.T) {
	j := runJob()
	fs := newSchedServer(t, j)
	eng := &checkingEngine{job: j}
	fs.s.cfg.Engine, fs.s.local.Engine = eng, eng
	body := fs.do("GET", "/namespaces/team/jobs/migrate/run", nil).Body.String()
	for _, want := range []string{
		`<label for="param-STEPS">`, `id="param-STEPS" name="param.STEPS" type="number" step="1" inputmode="numeric" value="1"`,
		`id="param-RATIO" name="param.RATIO" type="number" step="any"`,
		`<input type="checkbox" id="param-DRY" name="param.DRY" value="true">`,
		`<select id="param-MODE" name="param.MODE"`, `<option value="up" selected>up</option>`,
		`id="param-TOKEN" name="param.TOKEN" type="password" autocomplete="off" value=""`,
		`id="param-KEY" name="param.KEY" type="password" autocomplete="off" value="" required aria-required="true"`,
		`<label for="param-VERSION"><code>VERSION</code> <span class="req">required</span></label>`,
		`aria-describedby="param-TARGET-help"`, `<p class="help" id="param-TARGET-help">version to migrate to</p>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("Run tab lacks %s", want)
		}
	}
	if strings.Contains(body, "s3cr3t") {
		t.Fatal("the Run tab shows a secret default")
	}
	v := url.Values{"param.TARGET": {"v2"}, "param.VERSION": {"v1"}, "param.STEPS": {"2.5"}, "param.DRY": {"true"},
		"param.MODE": {"down"}, "param.KEY": {"k"}}
	rec := fs.do("POST", "/namespaces/team/jobs/migrate/run", v)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("bad integer: %d", rec.Code)
	}
	body = rec.Body.String()
	i, k := strings.Index(body, `id="param-STEPS"`), strings.Index(body, `<p class="field-error" role="alert">invalid value &#34;2.5&#34; for parameter &#34;STEPS&#34;`)
	if i < 0 || k < i || strings.Contains(body[i:k], `<div class="field`) || !strings.Contains(body[i-200:i+200], `aria-invalid="true"`) {
		t.Fatalf("the error is not next to STEPS:\n%s", alerts(body))
	}
	v.Set("param.STEPS", "3")
	if rec := fs.do("POST", "/namespaces/team/jobs/migrate/run", v); rec.Code != http.StatusSeeOther {
		t.Fatalf("run: %d\n%s", rec.Code, alerts(rec.Body.String()))
	}
	if eng.got["DRY"] != "true" || eng.got["STEPS"] != "3" {
		t.Errorf("triggered with %v", eng.got)
	}
	v.Del("param.DRY") // unchecked
	fs.do("POST", "/namespaces/team/jobs/migrate/run", v)
	if eng.got["DRY"] != "false" {
		t.Errorf("unchecked boolean: %v", eng.got)
	}
}
