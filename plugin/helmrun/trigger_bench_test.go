package helmrun

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef/jobdeftest"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// BenchmarkTriggerSteadyState is the CPU of one trigger in this process
// (the real Triggerer and Helm releaser on the fake clientset, no files):
// what a hook server spends per trigger besides waiting for the API
// server. Profile it with -cpuprofile / -blockprofile (BENCHMARKS.md,
// "Issue 23").
func BenchmarkTriggerSteadyState(b *testing.B) {
	ft := newFakeTrigger(b, 0, jobdeftest.Secret(b, func(j *jobdef.Job) {
		j.Spec.MaxRunsPerMinute = new(int32) // no limit: a loop of triggers
	}))
	ctx := b.Context()
	req := run.Request{Namespace: "ns", Job: "migrate", TriggeredBy: "user:bench"}
	for b.Loop() {
		res, err := ft.Trigger(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		// The run ends: keep the job's active runs at none, as a fast job.
		if err := ft.cs.BatchV1().Jobs("ns").Delete(ctx, res.Run, metav1.DeleteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
