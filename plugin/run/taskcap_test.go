package run_test

import (
	"strings"
	"testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// TestRunTasksOverTheCap: run --tasks cannot go past tasks × parallelism
// (the definition's parallelism, 0: all at once): an input error, nothing
// written.
func TestRunTasksOverTheCap(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobSecret(t, func(j *jobdef.Job) { j.Spec.Files = nil }))
	_, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", Tasks: 1000})
	if !run.IsInput(err) || !strings.Contains(err.Error(), "invalid tasks 1000 × parallelism 1000 = 1000000: must be at most 100000") {
		t.Fatalf("run --tasks 1000: %v", err)
	}
	assertNothingWritten(t, ft)
}
