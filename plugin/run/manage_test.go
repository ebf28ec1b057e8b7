package run

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestCancel(t *testing.T) {
	cs := fake.NewClientset(runJob("m", "m-1", 0), runJob("m", "m-2", time.Second, succeeded))
	if _, err := Cancel(t.Context(), cs, "ns", "m-1", "user:alice", DryRunClient); err != nil {
		t.Fatal(err)
	}
	if n := patches(cs); n != 0 {
		t.Fatalf("client dry run sent %d patches", n)
	}
	var sent []string
	cs.PrependReactor("patch", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchActionImpl)
		sent = append(sent, string(p.GetPatch()))
		if strings.Join(p.PatchOptions.DryRun, ",") != "All" {
			t.Errorf("server dry run patch options %+v", p.PatchOptions)
		}
		return true, runJob("m", "m-1", 0), nil
	})
	if _, err := Cancel(t.Context(), cs, "ns", "m-1", "user:alice", DryRunServer); err != nil {
		t.Fatal(err)
	}
	var patch struct {
		Metadata struct {
			Annotations     map[string]string `json:"annotations"`
			ResourceVersion string            `json:"resourceVersion"`
		} `json:"metadata"`
		Spec struct {
			ActiveDeadlineSeconds int64 `json:"activeDeadlineSeconds"`
		} `json:"spec"`
	}
	if len(sent) != 1 || json.Unmarshal([]byte(sent[0]), &patch) != nil || patch.Metadata.Annotations[AnnotationCancelledBy] != "user:alice" ||
		patch.Metadata.ResourceVersion != "1" || patch.Spec.ActiveDeadlineSeconds < 1 {
		t.Fatalf("patch %q", sent)
	}
	if _, err := Cancel(t.Context(), cs, "ns", "m-2", "user:alice", DryRunNone); err == nil || !strings.Contains(err.Error(), "already finished (Succeeded)") {
		t.Fatalf("cancel of a finished run: %v", err)
	}
	if _, err := Cancel(t.Context(), cs, "ns", "nope", "user:alice", DryRunNone); !apierrors.IsNotFound(err) {
		t.Fatalf("cancel of a missing run: %v", err)
	}
}

// TestCancelConflictIsBounded: a run that keeps changing between read and
// patch is retried a few times, then reported, never retried forever.
func TestCancelConflictIsBounded(t *testing.T) {
	cs := fake.NewClientset(runJob("m", "m-1", 0))
	tries := 0
	cs.PrependReactor("patch", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
		tries++
		return true, nil, apierrors.NewConflict(batchv1.Resource("jobs"), "m-1", nil)
	})
	_, err := Cancel(t.Context(), cs, "ns", "m-1", "user:alice", DryRunNone)
	if tries != cancelAttempts || !apierrors.IsConflict(err) || !strings.HasPrefix(err.Error(), "cancel run m-1: ") {
		t.Fatalf("%d tries, error %v", tries, err)
	}
	cs = fake.NewClientset(runJob("m", "m-1", 0))
	tries = 0
	cs.PrependReactor("patch", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
		if tries++; tries < 3 {
			return true, nil, apierrors.NewConflict(batchv1.Resource("jobs"), "m-1", nil)
		}
		return false, nil, nil
	})
	st, err := Cancel(t.Context(), cs, "ns", "m-1", "user:alice", DryRunNone)
	if err != nil || tries != 3 || st.Phase != Running || st.Message != "Cancelling" {
		t.Fatalf("after two conflicts: %+v, %v (%d tries)", st, err, tries)
	}
}

func TestDelete(t *testing.T) {
	plain := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "plain", Namespace: "ns"}}
	cs := fake.NewClientset(runJob("m", "m-1", 0), plain)
	if err := Delete(t.Context(), cs, "ns", "m-1", DryRunClient); err != nil {
		t.Fatal(err)
	}
	if err := Delete(t.Context(), cs, "ns", "m-1", DryRunNone); err != nil {
		t.Fatal(err)
	}
	var deletes []metav1.DeleteOptions
	for _, a := range cs.Actions() {
		if d, ok := a.(k8stesting.DeleteAction); ok {
			deletes = append(deletes, d.GetDeleteOptions())
		}
	}
	if len(deletes) != 1 || deletes[0].PropagationPolicy == nil || *deletes[0].PropagationPolicy != metav1.DeletePropagationBackground {
		t.Fatalf("deletes %+v: want one, in the background (pods and files go with the Job)", deletes)
	}
	for _, name := range []string{"m-1", "plain"} { // deleted; not a run
		if err := Delete(t.Context(), cs, "ns", name, DryRunNone); !apierrors.IsNotFound(err) {
			t.Errorf("Delete(%s): %v, want NotFound", name, err)
		}
	}
}

func TestResolveNewestRun(t *testing.T) {
	cs := fake.NewClientset(defSecret(t, "m"), defSecret(t, "other"), runJob("m", "m-a", 0), runJob("m", "m-c", 2*time.Second), runJob("m", "m-b", time.Second),
		runJob("other", "other-z", time.Hour))
	for in, want := range map[string]string{"m": "m-c", "m-a": "m-a", "other": "other-z"} {
		if got, err := Resolve(t.Context(), cs, "ns", in); err != nil || got != want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Resolve(t.Context(), cs, "ns", "none"); !apierrors.IsNotFound(err) {
		t.Errorf("Resolve of a job without runs: %v", err)
	}
}

func patches(cs *fake.Clientset) int {
	n := 0
	for _, a := range cs.Actions() {
		if a.GetVerb() == "patch" {
			n++
		}
	}
	return n
}
