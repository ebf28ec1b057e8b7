package run_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// TestIdempotencyKey: the same key returns the run it made (Unchanged,
// nothing created); with other parameters it is a conflict naming the run;
// another key makes another run; bad keys are input errors.
func TestIdempotencyKey(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobSecret(t, nil))
	req := run.Request{Namespace: "ns", Job: "migrate", IdempotencyKey: "ci:build-42", Params: map[string]string{"TARGET": "v1"}}
	first, err := ft.Trigger(t.Context(), req)
	if err != nil || first.Unchanged {
		t.Fatalf("first trigger: %+v, %v", first, err)
	}
	job, err := ft.cs.BatchV1().Jobs("ns").Get(t.Context(), first.Run, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if job.Annotations[run.AnnotationIdempotencyKey] != "ci:build-42" || job.Labels[run.LabelIdempotency] != run.IdempotencyLabel("ci:build-42") {
		t.Fatalf("run carries annotations %v labels %v", job.Annotations, job.Labels)
	}
	again, err := ft.Trigger(t.Context(), req)
	if err != nil || !again.Unchanged || again.Run != first.Run {
		t.Fatalf("same key again: %+v, %v; want run %s unchanged", again, err, first.Run)
	}
	other := req
	other.Params = map[string]string{"TARGET": "v2"}
	_, err = ft.Trigger(t.Context(), other)
	if !run.IsConflict(err) || !strings.Contains(err.Error(), `idempotency key "ci:build-42" was used by run `+first.Run+" with other parameters") {
		t.Fatalf("same key, other parameters: %v", err)
	}
	fresh := req
	fresh.IdempotencyKey = "ci:build-43"
	if res, err := ft.Trigger(t.Context(), fresh); err != nil || res.Unchanged || res.Run == first.Run {
		t.Fatalf("another key: %+v, %v", res, err)
	}
	if n := ft.creates(); n != 2 {
		t.Errorf("%d Jobs created, want 2", n)
	}
	for _, key := range []string{strings.Repeat("k", 65), "has space", "slash/no", "ü", "nul\x00"} {
		bad := req
		bad.IdempotencyKey = key
		if _, err := ft.Trigger(t.Context(), bad); !run.IsInput(err) || !strings.Contains(err.Error(), "invalid idempotency key") {
			t.Errorf("key %q: %v", key, err)
		}
	}
}
