package helmrun

import (
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"

	"github.com/shipjob/kubectl-shipjob/charts"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// renderChart renders the run chart with values as Helm does (schema
// included unless noSchema).
func renderChart(t *testing.T, values map[string]any, noSchema bool) (string, error) {
	t.Helper()
	c, err := charts.Run()
	if err != nil {
		t.Fatal(err)
	}
	cp := *c
	if noSchema {
		cp.Schema = nil
	}
	vals, err := chartutil.ToRenderValues(&cp, values, chartutil.ReleaseOptions{Name: "job", Namespace: "ns"}, chartutil.DefaultCapabilities)
	if err != nil {
		return "", err
	}
	out, err := engine.Render(&cp, vals)
	if err != nil {
		return "", err
	}
	return out["shipjob-run/templates/job.yaml"], nil
}

func injectionValues(t *testing.T) map[string]any {
	t.Helper()
	vals, err := chartValues(injectionPlan(injectionDef()))
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

func injectionDef() *jobdef.Job {
	def := jobdef.New("ns", "job")
	def.Spec.Image = "example.com/app"
	def.Spec.ServiceAccountName = "default\n      hostPID: true"
	def.Spec.ImagePullSecrets = []string{"p\n      hostIPC: true"}
	def.Spec.EnvFromSecrets = []string{"x\n          securityContext:\n            privileged: true"}
	def.Spec.Env = []jobdef.EnvVar{{Name: "A", Value: "v\n  hostNetwork: true"}}
	return def
}

func injectionPlan(def *jobdef.Job) *run.Plan {
	return &run.Plan{Def: def, Run: "job-0123456789", Image: "example.com/app:1", PullSecrets: def.Spec.ImagePullSecrets,
		Annotations: map[string]string{"a": "b"}}
}

// TestChartSchemaRefusesInjectedNames: values.schema.json constrains every
// name field, so values that bypassed validation fail to render.
func TestChartSchemaRefusesInjectedNames(t *testing.T) {
	vals := injectionValues(t)
	c, _ := charts.Run()
	err := chartutil.ValidateAgainstSchema(c, vals)
	if err == nil {
		t.Fatal("schema accepted injected names")
	}
	for _, field := range []string{"serviceAccountName", "imagePullSecrets", "envFromSecrets"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("schema error does not name %s: %v", field, err)
		}
	}
}

// TestChartQuotesEveryValue: without the schema too, no value can add a
// field: each stays the string it was (the API server then refuses the
// names), and the rendered run passes no host namespace or privilege.
func TestChartQuotesEveryValue(t *testing.T) {
	out, err := renderChart(t, injectionValues(t), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"\n      hostPID: true", "\n      hostIPC: true", "\n            privileged: true", "\n  hostNetwork: true"} {
		if strings.Contains(out, bad) {
			t.Errorf("rendered manifest has %q:\n%s", bad, out)
		}
	}
	err = injectionPlan(injectionDef()).CheckManifest([]byte(out))
	if err != nil {
		t.Errorf("the quoted values did not decode back to themselves: %v\n%s", err, out)
	}
}
