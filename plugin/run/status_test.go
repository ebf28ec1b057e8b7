package run

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCompute(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	now := t0.Add(time.Minute)
	job := func(mut func(*batchv1.Job)) *batchv1.Job {
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "m-1", Labels: map[string]string{LabelJob: "m"},
			Annotations: map[string]string{AnnotationTimeout: "15m"}, CreationTimestamp: metav1.NewTime(t0)}}
		j.Status.StartTime = &metav1.Time{Time: t0}
		if mut != nil {
			mut(j)
		}
		return j
	}
	cond := func(typ batchv1.JobConditionType, reason string, at time.Time) func(*batchv1.Job) {
		return func(j *batchv1.Job) {
			j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: typ, Status: corev1.ConditionTrue, Reason: reason, LastTransitionTime: metav1.NewTime(at)})
		}
	}
	pod := func(phase corev1.PodPhase, node string, state corev1.ContainerState) corev1.Pod {
		return corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p", CreationTimestamp: metav1.NewTime(t0)},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "job", Image: "img:1",
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: mustQuantity("128Mi")}}}}},
			Status: corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{State: state}}},
		}
	}
	terminated := func(code int32, reason string) corev1.ContainerState {
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}
	}
	waitingFor := func(reason string) corev1.ContainerState {
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
	}
	cases := map[string]struct {
		job     *batchv1.Job
		pods    []corev1.Pod
		phase   Phase
		reason  string
		message string
	}{
		"no pod yet":  {job: job(nil), phase: Pending, message: "Waiting to be scheduled"},
		"creating":    {job: job(nil), pods: []corev1.Pod{pod(corev1.PodPending, "n", waitingFor("ContainerCreating"))}, phase: Running, message: "Container creating"},
		"pull failed": {job: job(nil), pods: []corev1.Pod{pod(corev1.PodPending, "n", waitingFor("ImagePullBackOff"))}, phase: Running, reason: ReasonImagePull, message: "Pulling image img:1 failed, retrying"},
		"running":     {job: job(nil), pods: []corev1.Pod{pod(corev1.PodRunning, "n", corev1.ContainerState{Running: &corev1.ContainerStateRunning{}})}, phase: Running, message: "Running for 1m"},
		"retrying": {job: job(func(j *batchv1.Job) { j.Status.Failed = 2 }), pods: []corev1.Pod{pod(corev1.PodRunning, "n", corev1.ContainerState{Running: &corev1.ContainerStateRunning{}})},
			phase: Running, message: "Failed 2 times, retrying"},
		"succeeded": {job: job(cond(batchv1.JobComplete, "", t0.Add(63*time.Second))), pods: []corev1.Pod{pod(corev1.PodSucceeded, "n", terminated(0, "Completed"))},
			phase: Succeeded, message: "Completed in 1m3s"},
		"exit code": {job: job(cond(batchv1.JobFailed, "BackoffLimitExceeded", now)), pods: []corev1.Pod{pod(corev1.PodFailed, "n", terminated(3, "Error"))},
			phase: Failed, reason: ReasonExitCode, message: "Exit code 3"},
		"oom": {job: job(cond(batchv1.JobFailed, "BackoffLimitExceeded", now)), pods: []corev1.Pod{pod(corev1.PodFailed, "n", terminated(137, "OOMKilled"))},
			phase: Failed, reason: ReasonOOMKilled, message: "OOMKilled: the container used more than its memory limit (128Mi)"},
		"deadline": {job: job(cond(batchv1.JobFailed, "DeadlineExceeded", now)), phase: Failed, reason: ReasonDeadlineExceeded, message: "Did not finish within 15m"},
		"cancelled": {job: job(func(j *batchv1.Job) {
			cond(batchv1.JobFailed, "DeadlineExceeded", t0.Add(12*time.Second))(j)
			j.Annotations[AnnotationCancelledAt] = now.Format(time.RFC3339)
			j.Annotations[AnnotationCancelledBy] = "user:alice"
		}), phase: Cancelled, reason: ReasonCancelled, message: "Cancelled by user:alice after 12s"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := Compute(tc.job, tc.pods, now)
			if s.Phase != tc.phase || s.Reason != tc.reason || s.Message != tc.message {
				t.Fatalf("got (%s, %q, %q), want (%s, %q, %q)", s.Phase, s.Reason, s.Message, tc.phase, tc.reason, tc.message)
			}
		})
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 45 * time.Second: "45s", 63 * time.Second: "1m3s", 15 * time.Minute: "15m",
		2*time.Hour + 5*time.Minute: "2h5m", 76 * time.Hour: "3d4h", 14 * 24 * time.Hour: "14d",
	} {
		if got := HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestStableMessage(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 1, 0, 0, time.UTC)
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "m-1"}}
	job.Status.StartTime = &metav1.Time{Time: now.Add(-12 * time.Second)}
	pod := corev1.Pod{Spec: corev1.PodSpec{NodeName: "n"}, Status: corev1.PodStatus{Phase: corev1.PodRunning,
		ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}
	s := Compute(job, []corev1.Pod{pod}, now)
	if !s.Ticking || s.Message != "Running for 12s" || s.StableMessage() != "Running" {
		t.Fatalf("running: %+v, stable %q", s, s.StableMessage())
	}
	s = Compute(job, nil, now)
	if s.Ticking || s.StableMessage() != s.Message || s.Message != "Waiting to be scheduled" {
		t.Fatalf("pending: %+v", s)
	}
}

// TestRunningBeforeTheJobRecordsItsStart: a pod runs before the Job
// controller writes the Job's startTime (CI saw "Running for 0s" with the
// duration "–"): the pod's start is the run's, so both count from it.
func TestRunningBeforeTheJobRecordsItsStart(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 1, 0, 0, time.UTC)
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "m-1"}}
	pod := corev1.Pod{Spec: corev1.PodSpec{NodeName: "n"}, Status: corev1.PodStatus{Phase: corev1.PodRunning,
		StartTime:         &metav1.Time{Time: now.Add(-7 * time.Second)},
		ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}
	s := Compute(job, []corev1.Pod{pod}, now)
	if s.Started == nil || !s.Started.Equal(now.Add(-7*time.Second)) || s.Message != "Running for 7s" || s.Duration(now) != 7*time.Second {
		t.Fatalf("running without the Job's startTime: %+v", s)
	}
}

// TestComputeLeavesThePodsAlone (review §4): the status is from the newest
// attempt whatever the order of the pods given, and the caller's slice is
// not reordered.
func TestComputeLeavesThePodsAlone(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	attempt := func(name string, at time.Time, code int32) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(at)},
			Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}}}}
	}
	pods := []corev1.Pod{attempt("second", t0.Add(time.Minute), 2), attempt("first", t0, 1)}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "m-1", CreationTimestamp: metav1.NewTime(t0)},
		Status: batchv1.JobStatus{Failed: 2, Conditions: []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue,
			Reason: batchv1.JobReasonBackoffLimitExceeded, LastTransitionTime: metav1.NewTime(t0.Add(2 * time.Minute))}}}}
	st := Compute(job, pods, t0.Add(3*time.Minute))
	if st.ExitCode == nil || *st.ExitCode != 2 || len(st.Pods) != 2 || st.Pods[0] != "first" || st.Pods[1] != "second" {
		t.Errorf("status %+v: want the newest attempt's exit code 2, pods oldest first", st)
	}
	if pods[0].Name != "second" || pods[1].Name != "first" {
		t.Errorf("the caller's pods were reordered: %s, %s", pods[0].Name, pods[1].Name)
	}
}
