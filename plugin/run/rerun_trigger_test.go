package run_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

var pin = "sha256:" + strings.Repeat("b", 64)

// TestRerunTriggersWithProvenance: the request goes through the one
// trigger, which records rerun-of, and refuses what any trigger refuses.
func TestRerunTriggersWithProvenance(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobSecret(t, func(j *jobdef.Job) {
		j.Spec.Parameters = append(j.Spec.Parameters, jobdef.Parameter{Name: "TICKET", Required: true},
			jobdef.Parameter{Name: "TOKEN", Secret: true})
	}))
	first, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", Tag: "1.4",
		Params: map[string]string{"TARGET": "v42", "TICKET": "OPS-1", "TOKEN": "s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	req, warns, err := run.RerunRequest(t.Context(), ft.cs, "ns", first.Run, map[string]string{"TICKET": "OPS-2"}, "")
	if err != nil || len(warns) != 0 {
		t.Fatalf("rerun request: %v, warnings %q", err, warns)
	}
	res, err := ft.Trigger(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	job, err := ft.cs.BatchV1().Jobs("ns").Get(t.Context(), res.Run, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ann := job.Annotations
	if res.Run == first.Run || ann[run.AnnotationRerunOf] != first.Run || ann[run.AnnotationImage] != "example.com/migrate:1.4" ||
		ann[run.AnnotationParameters] != `{"TARGET":"v42","TICKET":"OPS-2","TOKEN":"<secret>"}` {
		t.Fatalf("rerun %s annotations %v", res.Run, ann)
	}
	// The secret parameter's value is carried, from the run's own Secret.
	sec, err := ft.cs.CoreV1().Secrets("ns").Get(t.Context(), run.ParamsSecretName(res.Run), metav1.GetOptions{})
	if err != nil || string(sec.Data["param-TOKEN"]) != "s3cret" {
		t.Fatalf("rerun's secret parameter: %v %q", err, sec.Data["param-TOKEN"])
	}
	req, _, err = run.RerunRequest(t.Context(), ft.cs, "ns", first.Run, map[string]string{"NOPE": "1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ft.Trigger(t.Context(), req); !run.IsInput(err) || !strings.Contains(err.Error(), `unknown parameter "NOPE"`) {
		t.Fatalf("unknown override: %v", err)
	}
	if err := ft.cs.CoreV1().Secrets("ns").Delete(t.Context(), run.ParamsSecretName(first.Run), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run.RerunRequest(t.Context(), ft.cs, "ns", first.Run, nil, ""); err == nil ||
		!strings.Contains(err.Error(), "secret parameter TOKEN of run "+first.Run+": read its Secret: ") {
		t.Fatalf("secret gone: %v", err)
	}
	if _, _, err := run.RerunRequest(t.Context(), ft.cs, "ns", first.Run, map[string]string{"TOKEN": "new"}, ""); err != nil {
		t.Fatalf("secret given: %v", err)
	}
}
