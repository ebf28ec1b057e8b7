package run

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Get returns the current status of one run (two API requests: its Job and
// a bounded list of its pods, see StatusOf). A missing Job, or a Job that
// is not a run, is NotFound (runs.shipjob.dev).
func Get(ctx context.Context, client kubernetes.Interface, ns, run string) (Status, error) {
	st, _, _, err := get(ctx, client, ns, run)
	return st, err
}

// get is Get with the resource versions of the Job and of its pod list,
// from which a watch for the next change starts.
func get(ctx context.Context, client kubernetes.Interface, ns, run string) (st Status, jobRV, podsRV string, err error) {
	job, err := getRunJob(ctx, client, ns, run)
	if err != nil {
		return st, "", "", err
	}
	pods, podsRV, err := statusPods(ctx, client, job)
	if err != nil {
		return st, "", "", err
	}
	return Compute(job, pods, time.Now()), job.ResourceVersion, podsRV, nil
}

// getRunJob reads a run's Job: the one read of a single run.
func getRunJob(ctx context.Context, client kubernetes.Interface, ns, run string) (*batchv1.Job, error) {
	job, err := client.BatchV1().Jobs(ns).Get(ctx, run, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && job.Labels[LabelKind] != KindRun) {
		return nil, apierrors.NewNotFound(GroupResource, run)
	}
	if err != nil {
		return nil, fmt.Errorf("get run %s: %w", run, err)
	}
	return job, nil
}

// listAttempts lists a run's pods (one per attempt), oldest first, and the
// list's resourceVersion.
func listAttempts(ctx context.Context, client kubernetes.Interface, ns, run string) ([]corev1.Pod, string, error) {
	return listTaskAttempts(ctx, client, ns, run, nil)
}

// listTaskAttempts is listAttempts of one task (nil: of every task).
func listTaskAttempts(ctx context.Context, client kubernetes.Interface, ns, run string, task *int32) ([]corev1.Pod, string, error) {
	sel := LabelRun + "=" + run
	if task != nil {
		// The Job controller labels a task's pods with its index.
		sel += "," + batchv1.JobCompletionIndexAnnotation + "=" + strconv.Itoa(int(*task))
	}
	list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, "", fmt.Errorf("list pods of run %s: %w", run, err)
	}
	pods := list.Items
	sort.SliceStable(pods, func(a, b int) bool { return pods[a].CreationTimestamp.Before(&pods[b].CreationTimestamp) })
	return pods, list.ResourceVersion, nil
}
