package run

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
)

// List returns the runs of job (all jobs when job is "") in namespace ("" =
// all namespaces), newest first. Two API requests: Jobs and their pods.
func List(ctx context.Context, client kubernetes.Interface, namespace, job string) ([]Status, error) {
	return list(ctx, client, namespace, job, Selector(job))
}

// ListOf returns the runs of the named jobs in namespace, newest first:
// List with a selector of those jobs (none: no request).
func ListOf(ctx context.Context, client kubernetes.Interface, namespace string, jobs []string) ([]Status, error) {
	// A name that is no label value (an invalid definition's) labels no
	// run and would make the selector invalid.
	jobs = slices.DeleteFunc(slices.Clone(jobs), func(j string) bool { return j == "" || len(validation.IsValidLabelValue(j)) > 0 })
	switch len(jobs) {
	case 0:
		return nil, nil
	case 1:
		return List(ctx, client, namespace, jobs[0])
	}
	return list(ctx, client, namespace, "", Selector("")+","+LabelJob+" in ("+strings.Join(jobs, ",")+")")
}

// ListNewest returns n runs of job in namespace (List's order: newest
// first) after skipping the newest skip, and how many runs the job has
// (n 0: all after skip). A job keeping thousands of runs costs a list of
// their metadata (protobuf) and whole Jobs of the runs returned only
// (issue 23: `runs JOB` and the Runs tab show the newest 100): three API
// requests, or List's when a run's labels cannot select it.
func ListNewest(ctx context.Context, client kubernetes.Interface, namespace, job string, skip, n int) ([]Status, int, error) {
	if job == "" || (skip <= 0 && n <= 0) {
		runs, err := List(ctx, client, namespace, job)
		return runs, len(runs), err
	}
	metas, err := listJobMetadata(ctx, client, namespace, Selector(job), "")
	if err != nil {
		return nil, 0, fmt.Errorf("list runs: %w", err)
	}
	sort.SliceStable(metas, func(a, b int) bool {
		x, y := &metas[a], &metas[b]
		if !x.CreationTimestamp.Equal(&y.CreationTimestamp) {
			return y.CreationTimestamp.Before(&x.CreationTimestamp)
		}
		return x.Name > y.Name
	})
	total := len(metas)
	from := min(max(skip, 0), total)
	to := total
	if n > 0 {
		to = min(from+n, total)
	}
	window := metas[from:to]
	if len(window) == 0 {
		return nil, total, nil
	}
	sel := Selector(job)
	if len(window) < total {
		names := make([]string, len(window))
		for i := range window {
			names[i] = window[i].Labels[LabelRun]
			// A run is selected by its label: one whose label is not
			// its name (planted or edited) would be missed or repeated.
			if names[i] != window[i].Name {
				runs, err := List(ctx, client, namespace, job)
				if err != nil {
					return nil, 0, err
				}
				return runs[min(from, len(runs)):min(from+len(window), len(runs))], len(runs), nil
			}
		}
		sel += "," + LabelRun + " in (" + strings.Join(names, ",") + ")"
	}
	runs, err := list(ctx, client, namespace, job, sel)
	return runs, total, err
}

// list is List of the runs matching selector sel (of job, "" all).
func list(ctx context.Context, client kubernetes.Interface, namespace, job, sel string) ([]Status, error) {
	jobs, err := client.BatchV1().Jobs(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	if len(jobs.Items) == 0 {
		return nil, nil
	}
	// Pods only tell more about runs that are active or failed (messages,
	// exit codes); a history of succeeded runs needs no pod list at all,
	// and runs of several tasks are shown from their Jobs' status (a pod
	// per task and try would make the list unbounded).
	var need []string
	for i := range jobs.Items {
		j := &jobs.Items[i]
		if JobCondition(j, batchv1.JobComplete) == nil && j.Annotations[AnnotationCancelledAt] == "" && !IsIndexed(j) {
			need = append(need, j.Name)
		}
	}
	// Failed runs of several tasks: the exit code of a failed task, from
	// a bounded list each (the newest maxFailedTaskRuns).
	var taskPods []corev1.Pod
	for _, j := range failedTaskRuns(jobs.Items) {
		pods, _, err := statusPods(ctx, client, j)
		if err != nil {
			return nil, err
		}
		taskPods = append(taskPods, pods...)
	}
	if len(need) == 0 {
		return fromObjects(jobs.Items, taskPods, time.Now()), nil
	}
	podSel := LabelRun
	switch {
	case len(need) <= 20:
		podSel = LabelRun + " in (" + strings.Join(need, ",") + ")"
	case job != "":
		podSel += "," + LabelJob + "=" + job
	}
	if len(need) > 20 {
		podSel += ",!" + batchv1.JobCompletionIndexAnnotation // not the tasks of Indexed runs
	}
	pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: podSel})
	if err != nil {
		return nil, fmt.Errorf("list pods of runs: %w", err)
	}
	return fromObjects(jobs.Items, append(pods.Items, taskPods...), time.Now()), nil
}

// maxFailedTaskRuns bounds the failed runs of several tasks whose failed
// task List reads (newest first); older ones show their Job's status only.
const maxFailedTaskRuns = 10

// failedTaskRuns are the newest failed (not cancelled, not timed out)
// runs of several tasks among jobs.
func failedTaskRuns(jobs []batchv1.Job) []*batchv1.Job {
	var out []*batchv1.Job
	for i := range jobs {
		j := &jobs[i]
		if c := JobCondition(j, batchv1.JobFailed); c != nil && IsIndexed(j) && j.Annotations[AnnotationCancelledAt] == "" &&
			c.Reason != batchv1.JobReasonDeadlineExceeded {
			out = append(out, j)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[b].CreationTimestamp.Before(&out[a].CreationTimestamp) })
	return out[:min(len(out), maxFailedTaskRuns)]
}

// fromObjects computes the status of every Job from it and its pods
// (matched by owner UID), newest first.
func fromObjects(jobs []batchv1.Job, pods []corev1.Pod, now time.Time) []Status {
	byOwner := map[string][]corev1.Pod{}
	for _, p := range pods {
		for _, o := range p.OwnerReferences {
			if o.Kind == "Job" {
				byOwner[string(o.UID)] = append(byOwner[string(o.UID)], p)
			}
		}
	}
	out := make([]Status, 0, len(jobs))
	for i := range jobs {
		out = append(out, Compute(&jobs[i], byOwner[string(jobs[i].UID)], now))
	}
	sort.SliceStable(out, func(a, b int) bool {
		if !out[a].Created.Equal(out[b].Created) {
			return out[a].Created.After(out[b].Created)
		}
		return out[a].Name > out[b].Name
	})
	return out
}

// Latest returns the newest run of every job, keyed "namespace/job".
func Latest(runs []Status) map[string]Status {
	m := map[string]Status{}
	for _, r := range runs { // newest first
		key := r.Namespace + "/" + r.Job
		if _, ok := m[key]; !ok {
			m[key] = r
		}
	}
	return m
}
