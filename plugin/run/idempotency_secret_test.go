package run_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// TestIdempotencyKeySecretValues (review N10 e): a retry with the same
// key and the same secret value is the run it made; with another secret
// value it is a conflict, not the old run. The run records a salted
// digest, never the value.
func TestIdempotencyKeySecretValues(t *testing.T) {
	const value = "first-secret-value"
	ft := newFakeTrigger(t, 0, jobSecret(t, func(j *jobdef.Job) {
		j.Spec.Parameters = append(j.Spec.Parameters, jobdef.Parameter{Name: "TOKEN", Secret: true, Required: true})
	}))
	req := run.Request{Namespace: "ns", Job: "migrate", IdempotencyKey: "ci:1", Params: map[string]string{"TOKEN": value}}
	first, err := ft.Trigger(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	job, err := ft.cs.BatchV1().Jobs("ns").Get(t.Context(), first.Run, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	digest := job.Annotations[run.AnnotationSecretDigest]
	if !strings.HasPrefix(digest, "v1:") || strings.Contains(digest, value) {
		t.Fatalf("secret digest annotation %q", digest)
	}
	again, err := ft.Trigger(t.Context(), req)
	if err != nil || !again.Unchanged || again.Run != first.Run {
		t.Fatalf("same secret again: %+v, %v; want run %s unchanged", again, err, first.Run)
	}
	other := req
	other.Params = map[string]string{"TOKEN": "another-secret-value"}
	if _, err := ft.Trigger(t.Context(), other); !run.IsConflict(err) ||
		!strings.Contains(err.Error(), `idempotency key "ci:1" was used by run `+first.Run+" with other parameters") {
		t.Fatalf("same key, other secret value: %v, want a conflict", err)
	}
	if n := ft.creates(); n != 1 {
		t.Errorf("%d Jobs created, want 1", n)
	}
	// A fresh salt per run: the same value gives another digest.
	req.IdempotencyKey = "ci:2"
	second, err := ft.Trigger(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	job2, _ := ft.cs.BatchV1().Jobs("ns").Get(t.Context(), second.Run, metav1.GetOptions{})
	if d := job2.Annotations[run.AnnotationSecretDigest]; d == digest || d == "" {
		t.Errorf("second run's digest %q, first's %q: want a fresh salt", d, digest)
	}
}
