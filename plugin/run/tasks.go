package run

import (
	"fmt"
	"io"
	"sort"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// tasksStatus completes the status of a run of several tasks (an Indexed
// Job) from its Job's status: how many succeeded, and when it failed, the
// exit code of the failed task among pods (a bounded few, see statusPods:
// never every task's).
func tasksStatus(s Status, job *batchv1.Job, pods []corev1.Pod) Status {
	s.Tasks, s.TasksSucceeded = *job.Spec.Completions, job.Status.Succeeded
	progress := fmt.Sprintf("%d/%d tasks succeeded", s.TasksSucceeded, s.Tasks)
	switch {
	case s.Phase == Succeeded:
		s.Message += fmt.Sprintf(" (%d tasks)", s.Tasks)
	case s.Phase == Failed && s.Reason != ReasonDeadlineExceeded:
		if p, term := firstFailedTask(pods); term != nil {
			code := term.ExitCode
			s.ExitCode, s.Reason = &code, ReasonExitCode
			s.Message = fmt.Sprintf("Exit code %d (task %s)", code, taskIndex(p))
		}
		s.Message += "; " + progress
	case s.Phase == Running && s.Reason == "":
		s.Message, s.Ticking = progress, false
	case s.Phase == Pending && (len(pods) == 0 && job.Status.Active > 0 || job.Status.Ready != nil && *job.Status.Ready > 0 || job.Status.Succeeded > 0):
		// No task is pending (or some run already): the run is running.
		s.Phase, s.Message, s.Ticking = Running, progress, false
	case s.Phase.Finished():
		s.Message += "; " + progress
	}
	return s
}

// firstFailedTask is the pod whose container failed first.
func firstFailedTask(pods []corev1.Pod) (*corev1.Pod, *corev1.ContainerStateTerminated) {
	var first *corev1.Pod
	var firstTerm *corev1.ContainerStateTerminated
	for i := range pods {
		t := lastTerminated(&pods[i])
		if t == nil || t.ExitCode == 0 {
			continue
		}
		if firstTerm == nil || t.FinishedAt.Before(&firstTerm.FinishedAt) {
			first, firstTerm = &pods[i], t
		}
	}
	return first, firstTerm
}

// taskIndex is the index of a task's pod ("" for a run of one task).
func taskIndex(p *corev1.Pod) string {
	if p == nil {
		return ""
	}
	return p.Annotations[batchv1.JobCompletionIndexAnnotation]
}

// sortByTask orders the pods of a run by task, then by creation.
func sortByTask(pods []corev1.Pod) {
	sort.SliceStable(pods, func(a, b int) bool {
		ia, ib := taskIndex(&pods[a]), taskIndex(&pods[b])
		if len(ia) != len(ib) {
			return len(ia) < len(ib)
		}
		return ia < ib
	})
}

// prefixWriter starts every line written through it with prefix.
type prefixWriter struct {
	w      io.Writer
	prefix []byte
	mid    bool // inside a line
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		if !p.mid {
			if _, err := p.w.Write(p.prefix); err != nil {
				return n, err
			}
			p.mid = true
		}
		end := len(b)
		for i, c := range b {
			if c == '\n' {
				end = i + 1
				p.mid = false
				break
			}
		}
		m, err := p.w.Write(b[:end])
		n += m
		if err != nil {
			return n, err
		}
		b = b[end:]
	}
	return n, nil
}
