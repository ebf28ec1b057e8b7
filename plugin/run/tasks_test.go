package run

import (
	"bytes"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

func indexedJob(completions, succeeded int32, conds ...batchv1.JobConditionType) *batchv1.Job {
	mode := batchv1.IndexedCompletion
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j-0000000000"},
		Spec:   batchv1.JobSpec{CompletionMode: &mode, Completions: &completions},
		Status: batchv1.JobStatus{Succeeded: succeeded}}
	for _, c := range conds {
		j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: c, Status: corev1.ConditionTrue})
	}
	return j
}

func taskPod(index string, exit int32, finished time.Time) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p" + index, Annotations: map[string]string{batchv1.JobCompletionIndexAnnotation: index}}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: exit, FinishedAt: metav1.Time{Time: finished}}}}}
	p.Status.Phase = corev1.PodSucceeded
	if exit != 0 {
		p.Status.Phase = corev1.PodFailed
	}
	return p
}

// TestTasksStatus: runs of several tasks say how many succeeded, and a
// failed one exits with the code of the task that failed first.
func TestTasksStatus(t *testing.T) {
	now := time.Now()
	st := Compute(indexedJob(5, 3), []corev1.Pod{taskPod("0", 0, now), taskPod("1", 0, now)}, now)
	if st.Tasks != 5 || st.TasksSucceeded != 3 || st.Message != "3/5 tasks succeeded" || st.Ticking {
		t.Errorf("running: %+v", st)
	}
	st = Compute(indexedJob(5, 5, batchv1.JobComplete), nil, now)
	if st.Phase != Succeeded || !strings.HasSuffix(st.Message, "(5 tasks)") {
		t.Errorf("succeeded: %+v", st)
	}
	pods := []corev1.Pod{taskPod("3", 7, now.Add(-time.Second)), taskPod("1", 2, now.Add(-3*time.Second)), taskPod("0", 0, now)}
	st = Compute(indexedJob(5, 3, batchv1.JobFailed), pods, now)
	if st.Phase != Failed || st.ExitCode == nil || *st.ExitCode != 2 || st.Message != "Exit code 2 (task 1); 3/5 tasks succeeded" {
		t.Errorf("failed: phase %s exit %v message %q", st.Phase, st.ExitCode, st.Message)
	}
}

func TestPrefixWriter(t *testing.T) {
	var b bytes.Buffer
	w := &prefixWriter{w: &b, prefix: []byte("[task 2] ")}
	for _, chunk := range []string{"one\ntw", "o\n", "", "three"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.String(); got != "[task 2] one\n[task 2] two\n[task 2] three" {
		t.Errorf("%q", got)
	}
}

// TestTasksRender: a job of several tasks renders an Indexed Job whose
// tasks learn their index and count; retries count per task.
func TestTasksRender(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobSecret(t, func(j *jobdef.Job) {
		j.Spec.Files, j.Spec.Tasks, j.Spec.Parallelism, j.Spec.Retries = nil, 5, 2, 1
	}))
	res, err := ft.Trigger(t.Context(), Request{Namespace: "ns", Job: "migrate"})
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
	if index != taskIndexField || count != "5" {
		t.Errorf("task env: index %q count %q", index, count)
	}
	res, err = ft.Trigger(t.Context(), Request{Namespace: "ns", Job: "migrate", Tasks: 1})
	if err != nil {
		t.Fatal(err)
	}
	if job, _ := ft.cs.BatchV1().Jobs("ns").Get(t.Context(), res.Run, metav1.GetOptions{}); job.Spec.CompletionMode != nil {
		t.Errorf("run --tasks 1 is still Indexed")
	}
	if _, err := ft.Trigger(t.Context(), Request{Namespace: "ns", Job: "migrate", Tasks: -2}); !IsInput(err) {
		t.Errorf("tasks -2: %v", err)
	}
}
