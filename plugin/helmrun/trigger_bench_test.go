package helmrun

import (
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

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
	// The fake clientset's DeleteCollection deletes nothing: refused, the
	// records are pruned by name as the hook server's Role makes it do,
	// so the history stays bounded and each trigger costs the same.
	ft.cs.PrependReactor("delete-collection", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", errors.New("no deletecollection"))
	})
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
