package run_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

func policyJob(policy jobdef.ConcurrencyPolicy, max *int32) func(*jobdef.Job) {
	return func(j *jobdef.Job) {
		j.Spec.Files = nil
		j.Spec.ConcurrencyPolicy, j.Spec.MaxActiveRuns = policy, max
	}
}

func trigger(t *testing.T, ft *fakeTrigger) (*run.Result, error) {
	t.Helper()
	time.Sleep(110 * time.Millisecond) // distinct run names
	return ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", TriggeredBy: "user:test"})
}

func finish(t *testing.T, ft *fakeTrigger, runName string) {
	t.Helper()
	job, err := ft.cs.BatchV1().Jobs("ns").Get(t.Context(), runName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	job.Status.Conditions = append(job.Status.Conditions, batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue})
	job.Status.Succeeded = 1
	if _, err := ft.cs.BatchV1().Jobs("ns").UpdateStatus(t.Context(), job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestForbidRefusesWhileARunIsActive: concurrencyPolicy Forbid refuses a
// trigger naming the active run, creates nothing, and allows the next
// trigger once the run has finished.
func TestForbidRefusesWhileARunIsActive(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobSecret(t, policyJob(jobdef.ForbidConcurrent, nil)))
	first, err := trigger(t, ft)
	if err != nil {
		t.Fatal(err)
	}
	_, err = trigger(t, ft)
	if !run.IsConflict(err) || !strings.Contains(err.Error(), "forbids concurrent runs and run "+first.Run+" is active") {
		t.Fatalf("second trigger: %v, want a ConflictError naming %s", err, first.Run)
	}
	if n := ft.creates(); n != 1 {
		t.Fatalf("%d Jobs created, want 1", n)
	}
	finish(t, ft, first.Run)
	if _, err := trigger(t, ft); err != nil {
		t.Fatalf("trigger after the run finished: %v", err)
	}
}

// TestMaxActiveRunsBoundsActiveRuns: with maxActiveRuns 2 the third
// active run is refused; 0 means no limit.
func TestMaxActiveRunsBoundsActiveRuns(t *testing.T) {
	two := int32(2)
	ft := newFakeTrigger(t, 0, jobSecret(t, policyJob("", &two)))
	for i := range 2 {
		if _, err := trigger(t, ft); err != nil {
			t.Fatalf("trigger %d: %v", i, err)
		}
	}
	_, err := trigger(t, ft)
	if !run.IsConflict(err) || !strings.Contains(err.Error(), "has 2 active runs, its limit (maxActiveRuns)") {
		t.Fatalf("third trigger: %v", err)
	}
	zero := int32(0)
	free := newFakeTrigger(t, 0, jobSecret(t, policyJob("", &zero)))
	for range 12 {
		if _, err := trigger(t, free); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDefaultMaxActiveRuns: a job that sets nothing may have 10 active runs.
func TestDefaultMaxActiveRuns(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobSecret(t, policyJob("", nil)))
	var listOpts []metav1.ListOptions
	rv := 100
	ft.cs.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		rv++ // the fake clientset sets no resourceVersion
		a.(k8stesting.CreateAction).GetObject().(*corev1.Secret).ResourceVersion = strconv.Itoa(rv)
		return false, nil, nil
	})
	ft.cs.PrependReactor("list", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		listOpts = append(listOpts, a.(k8stesting.ListActionImpl).GetListOptions())
		return false, nil, nil
	})
	for i := range jobdef.DefaultMaxActiveRuns {
		if _, err := trigger(t, ft); err != nil {
			t.Fatalf("trigger %d: %v", i, err)
		}
	}
	if _, err := trigger(t, ft); !run.IsConflict(err) {
		t.Fatalf("trigger 11: %v, want the default limit", err)
	}
	// The last trigger's two lists (made at once, in either order): the
	// runs not marked finished, and the metadata of its finished runs.
	full := listOpts[len(listOpts)-2]
	if strings.HasSuffix(listOpts[len(listOpts)-1].LabelSelector, ",!"+run.LabelFinishedOf) {
		full = listOpts[len(listOpts)-1]
	}
	if !strings.HasSuffix(full.LabelSelector, ",!"+run.LabelFinishedOf) || full.ResourceVersionMatch != metav1.ResourceVersionMatchNotOlderThan || full.ResourceVersion == "" {
		t.Errorf("active runs listed with %+v, want runs marked finished left out, not older than the trigger's record", full)
	}
}

// TestReplaceCancelsActiveRuns: concurrencyPolicy Replace cancels the
// active runs (listed as Cancelled: replaced by NEW) and starts the new one.
func TestReplaceCancelsActiveRuns(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobSecret(t, policyJob(jobdef.ReplaceConcurrent, nil)))
	first, err := trigger(t, ft)
	if err != nil {
		t.Fatal(err)
	}
	second, err := trigger(t, ft)
	if err != nil {
		t.Fatal(err)
	}
	job, err := ft.cs.BatchV1().Jobs("ns").Get(t.Context(), first.Run, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if by := job.Annotations[run.AnnotationCancelledBy]; by != "replaced-by:"+second.Run {
		t.Fatalf("first run cancelled by %q, want %s", by, "replaced-by:"+second.Run)
	}
	job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonDeadlineExceeded}}
	if st := run.Compute(job, nil, time.Now()); st.Phase != run.Cancelled || !strings.Contains(st.Message, "replaced by "+second.Run) {
		t.Errorf("replaced run shows %s %q", st.Phase, st.Message)
	}
}
