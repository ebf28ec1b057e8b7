package run

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// maxStatusPods bounds the pods one status read of a run of several tasks
// lists: an Indexed run keeps a pod per task and try (up to 10,000 tasks),
// and its state comes from the Job's status; pods only add the detail of a
// failed or stuck task.
const maxStatusPods = 10

// IsIndexed reports whether job is a run of several tasks (an Indexed Job).
func IsIndexed(job *batchv1.Job) bool {
	return job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion && job.Spec.Completions != nil
}

// StatusOf computes the status of run job as read now: a run of one task
// from its pods (one per try, bounded by its retries), a run of several
// tasks from its Job's status and at most maxStatusPods pods (a failed or
// a pending one, for the detail), never by listing every task.
func StatusOf(ctx context.Context, client kubernetes.Interface, job *batchv1.Job) (Status, error) {
	pods, _, err := statusPods(ctx, client, job)
	if err != nil {
		return Status{}, err
	}
	return Compute(job, pods, time.Now()), nil
}

// EndStatus is StatusOf a finished run for its end (the notification, its
// Event and metrics) in fewer requests: a completed run's status is its
// Job's alone (exit code 0; its pods would add only their names), so only a
// failed run's pods are read, for its exit code and reason.
func EndStatus(ctx context.Context, client kubernetes.Interface, job *batchv1.Job) (Status, error) {
	if JobCondition(job, batchv1.JobComplete) != nil {
		return Compute(job, nil, time.Now()), nil
	}
	return StatusOf(ctx, client, job)
}

// statusPods are the pods Compute needs for job's status, and the list's
// resourceVersion (to watch for the next change from).
func statusPods(ctx context.Context, client kubernetes.Interface, job *batchv1.Job) ([]corev1.Pod, string, error) {
	if !IsIndexed(job) {
		return listAttempts(ctx, client, job.Namespace, job.Name)
	}
	sel := LabelRun + "=" + job.Name
	var phase corev1.PodPhase
	switch {
	case JobCondition(job, batchv1.JobComplete) != nil || job.Annotations[AnnotationCancelledAt] != "":
		// Nothing to add; the list (of at most one pod) gives a
		// resourceVersion to watch from.
		phase = corev1.PodSucceeded
	case JobCondition(job, batchv1.JobFailed) != nil:
		// The exit code of a failed task: the first failed index if the
		// Job names it.
		phase = corev1.PodFailed
		if i := firstIndex(job.Status.FailedIndexes); i != "" {
			// The Job controller labels a task's pods with its index
			// (same key as the annotation).
			sel += "," + batchv1.JobCompletionIndexAnnotation + "=" + i
		}
	default:
		// Why tasks do not run (image pull, scheduling): a pending pod.
		phase = corev1.PodPending
	}
	limit := int64(maxStatusPods)
	if phase == corev1.PodSucceeded {
		limit = 1
	}
	list, err := client.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel, Limit: limit,
		FieldSelector: fields.OneTermEqualSelector("status.phase", string(phase)).String()})
	if err != nil {
		return nil, "", fmt.Errorf("list pods of run %s: %w", job.Name, err)
	}
	pods := list.Items
	if phase == corev1.PodSucceeded {
		pods = nil
	}
	if len(pods) > maxStatusPods { // the API server's answer is input too
		pods = pods[:maxStatusPods]
	}
	sort.SliceStable(pods, func(a, b int) bool { return pods[a].CreationTimestamp.Before(&pods[b].CreationTimestamp) })
	return pods, list.ResourceVersion, nil
}

// firstIndex is the first index of a Job's failedIndexes ("1,3-5" -> "1"),
// "" when there is none or it is not a number.
func firstIndex(indexes *string) string {
	if indexes == nil {
		return ""
	}
	first, _, _ := strings.Cut(*indexes, ",")
	first, _, _ = strings.Cut(first, "-")
	if first == "" || strings.Trim(first, "0123456789") != "" || len(first) > 5 {
		return ""
	}
	return first
}
