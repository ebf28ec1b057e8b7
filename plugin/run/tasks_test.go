package run

import (
	"bytes"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
