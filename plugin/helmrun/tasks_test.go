package helmrun

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// TestTasksRender: a job of several tasks renders an Indexed Job whose
// tasks learn their index and count; retries count per task.
func TestTasksRender(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobSecret(t, func(j *jobdef.Job) {
		j.Spec.Files, j.Spec.Tasks, j.Spec.Parallelism, j.Spec.Retries = nil, 5, 2, 1
	}))
	res, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate"})
	if err != nil {
		t.Fatal(err)
	}
	job, _ := ft.cs.BatchV1().Jobs("ns").Get(t.Context(), res.Run, metav1.GetOptions{})
	s := job.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion || *s.Completions != 5 || *s.Parallelism != 2 ||
		s.BackoffLimitPerIndex == nil || *s.BackoffLimitPerIndex != 1 || s.BackoffLimit != nil {
		t.Fatalf("spec %+v", s)
	}
	var index, count string
	for _, e := range s.Template.Spec.Containers[0].Env {
		switch e.Name {
		case jobdef.EnvTaskIndex:
			index = e.ValueFrom.FieldRef.FieldPath
		case jobdef.EnvTaskCount:
			count = e.Value
		}
	}
	if index != "metadata.annotations['"+batchv1.JobCompletionIndexAnnotation+"']" || count != "5" {
		t.Errorf("task env: index %q count %q", index, count)
	}
	res, err = ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", Tasks: 1})
	if err != nil {
		t.Fatal(err)
	}
	if job, _ := ft.cs.BatchV1().Jobs("ns").Get(t.Context(), res.Run, metav1.GetOptions{}); job.Spec.CompletionMode != nil {
		t.Errorf("run --tasks 1 is still Indexed")
	}
	if _, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", Tasks: -2}); !run.IsInput(err) {
		t.Errorf("tasks -2: %v", err)
	}
}
