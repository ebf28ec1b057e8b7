package run

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// getRunJob reads a run's Job, NotFound as runs.shipjob.dev.
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

// Cancel stops a running run: it is marked cancelled (by whom, when) and
// its deadline is moved to now, so the real Job controller terminates its
// pods and the run finishes as Failed/DeadlineExceeded — shown as
// Cancelled — and its retention (TTL) applies like for any finished run.
// Cancelling a finished run is an error.
func Cancel(ctx context.Context, client kubernetes.Interface, ns, run, by string, dryRun []string) (Status, error) {
	job, err := getRunJob(ctx, client, ns, run)
	if err != nil {
		return Status{}, err
	}
	st := Compute(job, nil, time.Now())
	if st.Phase.Finished() {
		return st, fmt.Errorf("run %s already finished (%s)", run, st.Phase)
	}
	elapsed := int64(1)
	if job.Status.StartTime != nil {
		elapsed = max(int64(time.Since(job.Status.StartTime.Time)/time.Second), 1)
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{
			"annotations":     map[string]string{AnnotationCancelledAt: time.Now().UTC().Format(time.RFC3339), AnnotationCancelledBy: by},
			"resourceVersion": job.ResourceVersion,
		},
		"spec": map[string]any{"activeDeadlineSeconds": elapsed},
	})
	if err != nil {
		return st, err
	}
	out, err := client.BatchV1().Jobs(ns).Patch(ctx, run, types.MergePatchType, patch, metav1.PatchOptions{DryRun: dryRun})
	if apierrors.IsConflict(err) {
		return Cancel(ctx, client, ns, run, by, dryRun)
	}
	if err != nil {
		return st, fmt.Errorf("cancel run %s: %w", run, err)
	}
	return Compute(out, nil, time.Now()), nil
}

// Delete deletes a run: its Job, pods and files (the garbage collector
// removes the dependents).
func Delete(ctx context.Context, client kubernetes.Interface, ns, run string, dryRun []string) error {
	if _, err := getRunJob(ctx, client, ns, run); err != nil {
		return err
	}
	policy := metav1.DeletePropagationBackground
	err := client.BatchV1().Jobs(ns).Delete(ctx, run, metav1.DeleteOptions{PropagationPolicy: &policy, DryRun: dryRun})
	if apierrors.IsNotFound(err) {
		return apierrors.NewNotFound(GroupResource, run)
	}
	if err != nil {
		return fmt.Errorf("delete run %s: %w", run, err)
	}
	return nil
}

// Resolve turns a run or job name into a run name: a job name means its
// newest run.
func Resolve(ctx context.Context, client kubernetes.Interface, ns, name string) (string, error) {
	job, err := client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if err == nil && job.Labels[LabelKind] == KindRun {
		return name, nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("get run %s: %w", name, err)
	}
	jobs, err := client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: Selector(name)})
	if err != nil {
		return "", fmt.Errorf("list runs of %s: %w", name, err)
	}
	newest := ""
	var newestT metav1.Time
	for _, j := range jobs.Items {
		if newest == "" || newestT.Before(&j.CreationTimestamp) || (newestT.Equal(&j.CreationTimestamp) && j.Name > newest) {
			newest, newestT = j.Name, j.CreationTimestamp
		}
	}
	if newest == "" {
		return "", apierrors.NewNotFound(GroupResource, name)
	}
	return newest, nil
}
