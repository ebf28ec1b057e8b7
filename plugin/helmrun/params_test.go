package helmrun

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// TestSecretParameterNeverInClear: a secret parameter's value goes into
// the run's own Secret and reaches the container by secretKeyRef; the
// Job's annotations, the rendered manifest, the Helm release record and
// the trigger's result show <secret>.
func TestSecretParameterNeverInClear(t *testing.T) {
	const value = "hunter2-very-secret"
	ft := newFakeTrigger(t, 0, jobSecret(t, func(j *jobdef.Job) {
		j.Spec.Files = nil
		j.Spec.Parameters = append(j.Spec.Parameters, jobdef.Parameter{Name: "TOKEN", Secret: true, Required: true})
	}))
	res, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", Params: map[string]string{"TOKEN": value}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Parameters["TOKEN"] != jobdef.SecretValue || strings.Contains(res.Manifest, value) {
		t.Errorf("result shows the value: %v\n%s", res.Parameters, res.Manifest)
	}
	job, err := ft.cs.BatchV1().Jobs("ns").Get(t.Context(), res.Run, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a := job.Annotations[run.AnnotationParameters]; !strings.Contains(a, `"TOKEN":"<secret>"`) || strings.Contains(a, value) {
		t.Errorf("parameters annotation %q", a)
	}
	var ref string
	for _, e := range job.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "TOKEN" {
			if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Fatalf("TOKEN env %+v, want a secretKeyRef", e)
			}
			ref = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
	}
	if ref != run.ParamsSecretName(res.Run)+"/param-TOKEN" {
		t.Fatalf("TOKEN from %q", ref)
	}
	runSecret, err := ft.cs.CoreV1().Secrets("ns").Get(t.Context(), run.ParamsSecretName(res.Run), metav1.GetOptions{})
	if err != nil || string(runSecret.Data["param-TOKEN"]) != value {
		t.Fatalf("run Secret: %v %v", runSecret, err)
	}
	if len(runSecret.OwnerReferences) != 1 || runSecret.OwnerReferences[0].Name != res.Run {
		t.Errorf("run Secret owned by %v, want the run's Job", runSecret.OwnerReferences)
	}
	records, _ := ft.cs.CoreV1().Secrets("ns").List(t.Context(), metav1.ListOptions{LabelSelector: "owner=helm"})
	for _, r := range records.Items {
		rel, err := newReleaseCache(ft.cs.CoreV1().Secrets("ns"), "migrate").Secrets.Get(r.Name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(rel.Manifest, value) || strings.Contains(fmtValues(rel.Config), value) {
			t.Errorf("release record %s holds the secret value", r.Name)
		}
	}
	// Typed parameters are checked for every front end.
	_, err = ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", Params: map[string]string{"TOKEN": ""}})
	if !run.IsInput(err) {
		t.Errorf("empty required secret: %v", err)
	}
}

func fmtValues(v map[string]any) string {
	var b strings.Builder
	for k, x := range v {
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(strings.TrimSpace(strings.ReplaceAll(fmtAny(x), "\n", " ")))
	}
	return b.String()
}

func fmtAny(x any) string {
	switch t := x.(type) {
	case string:
		return t
	case []any:
		var parts []string
		for _, e := range t {
			parts = append(parts, fmtAny(e))
		}
		return strings.Join(parts, ",")
	case map[string]any:
		return fmtValues(t)
	}
	return ""
}
