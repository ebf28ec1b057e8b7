package run

import (
	"errors"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// runJob is a run's Job of job, created at t0 plus age, running unless
// mutated.
func runJob(job, name string, age time.Duration, mut ...func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", ResourceVersion: "1",
		Labels: map[string]string{LabelKind: KindRun, LabelJob: job},
		Annotations: map[string]string{AnnotationJobUID: "uid-" + job, AnnotationReleaseName: job,
			AnnotationReleaseNamespace: "ns"},
		CreationTimestamp: metav1.NewTime(t0.Add(age))}}
	j.Spec.Template.Spec.Containers = []corev1.Container{{Name: "job", Image: "example.com/" + job + ":1"}}
	j.Status.StartTime = &metav1.Time{Time: t0.Add(age)}
	j.Status.Active = 1
	for _, m := range mut {
		m(j)
	}
	return j
}

// succeeded marks a run's Job complete.
func succeeded(j *batchv1.Job) {
	j.Status.Active, j.Status.Succeeded = 0, 1
	j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: batchv1.JobComplete,
		Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(time.Minute))})
}

// runPod is an attempt of run created at t0 plus age.
func runPod(run, name string, age time.Duration, phase corev1.PodPhase, state corev1.ContainerState) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{LabelRun: run},
			CreationTimestamp: metav1.NewTime(t0.Add(age))},
		Spec:   corev1.PodSpec{NodeName: "node", Containers: []corev1.Container{{Name: "job", Image: "img:1"}}},
		Status: corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{Name: "job", State: state}}},
	}
}

var (
	running = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	exited  = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}
)

func TestGetReadsOneRun(t *testing.T) {
	plain := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "plain", Namespace: "ns"}}
	cs := fake.NewClientset(runJob("m", "m-1", 0, succeeded), plain,
		runPod("m-1", "m-1-b", time.Second, corev1.PodSucceeded, exited),
		runPod("m-1", "m-1-a", 0, corev1.PodFailed, exited),
		runPod("m-2", "m-2-a", 0, corev1.PodRunning, running))
	st, err := Get(t.Context(), cs, "ns", "m-1")
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != Succeeded || st.Job != "m" || len(st.Pods) != 2 || st.Pods[0] != "m-1-a" {
		t.Fatalf("status %+v", st)
	}
	for _, name := range []string{"missing", "plain"} {
		_, err := Get(t.Context(), cs, "ns", name)
		if !apierrors.IsNotFound(err) || err.Error() != `runs.shipjob.dev "`+name+`" not found` {
			t.Errorf("Get(%s): %v, want NotFound of runs.shipjob.dev", name, err)
		}
	}
	cs.PrependReactor("get", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	if _, err := Get(t.Context(), cs, "ns", "m-1"); err == nil || apierrors.IsNotFound(err) || err.Error() != "get run m-1: connection refused" {
		t.Errorf("API error: %v", err)
	}
}

func TestListAttemptsOldestFirst(t *testing.T) {
	cs := fake.NewClientset(runPod("r", "c", 2*time.Second, corev1.PodRunning, running),
		runPod("r", "a", 0, corev1.PodFailed, exited), runPod("r", "b", time.Second, corev1.PodFailed, exited),
		runPod("other", "x", 0, corev1.PodRunning, running))
	pods, _, err := listAttempts(t.Context(), cs, "ns", "r")
	if err != nil {
		t.Fatal(err)
	}
	var names string
	for _, p := range pods {
		names += p.Name
	}
	if names != "abc" {
		t.Fatalf("attempts %q, want abc", names)
	}
}

// defSecret is the stored definition of job name (image
// example.com/NAME:1, UID uid-NAME), whose runs runJob makes.
func defSecret(t *testing.T, name string) *corev1.Secret {
	t.Helper()
	j := jobdef.New("ns", name)
	j.Spec.Image, j.Spec.Tag = "example.com/"+name, "1"
	s, err := jobdef.ToSecret(j)
	if err != nil {
		t.Fatal(err)
	}
	s.UID = types.UID("uid-" + name)
	return s
}
