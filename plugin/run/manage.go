package run

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// Cancel stops a running run: it is marked cancelled (by whom, when) and
// its deadline is moved to now, so the real Job controller terminates its
// pods and the run finishes as Failed/DeadlineExceeded — shown as
// Cancelled — and its retention (TTL) applies like for any finished run.
// Cancelling a finished run is an error. A client dry run only checks.
func Cancel(ctx context.Context, client kubernetes.Interface, ns, run, by string, dry DryRun) (Status, error) {
	var err error
	for range cancelAttempts {
		var st Status
		var done bool
		if st, done, err = cancelOnce(ctx, client, ns, run, by, dry); done {
			return st, err
		}
	}
	return Status{}, fmt.Errorf("cancel run %s: %w", run, err)
}

// cancelAttempts bounds Cancel's retries of a run that changed between its
// read and its patch (the Job controller updates a running Job's status).
const cancelAttempts = 5

// cancelOnce is one attempt of Cancel; done is false after a conflict.
func cancelOnce(ctx context.Context, client kubernetes.Interface, ns, run, by string, dry DryRun) (Status, bool, error) {
	job, err := getRunJob(ctx, client, ns, run)
	if err != nil {
		return Status{}, true, err
	}
	st := Compute(job, nil, time.Now())
	if st.Phase.Finished() {
		return st, true, &FinishedError{Run: run, Phase: st.Phase}
	}
	if dry == DryRunClient {
		return st, true, nil
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
		return st, true, err
	}
	out, err := client.BatchV1().Jobs(ns).Patch(ctx, run, types.MergePatchType, patch, metav1.PatchOptions{DryRun: dry.API()})
	if apierrors.IsConflict(err) {
		return st, false, err
	}
	if err != nil {
		return st, true, fmt.Errorf("cancel run %s: %w", run, err)
	}
	return Compute(out, nil, time.Now()), true, nil
}

// Delete deletes a run: its Job, pods and files (the garbage collector
// removes the dependents). A client dry run only checks that it exists.
func Delete(ctx context.Context, client kubernetes.Interface, ns, run string, dry DryRun) error {
	if _, err := getRunJob(ctx, client, ns, run); err != nil || dry == DryRunClient {
		return err
	}
	policy := metav1.DeletePropagationBackground
	err := client.BatchV1().Jobs(ns).Delete(ctx, run, metav1.DeleteOptions{PropagationPolicy: &policy, DryRun: dry.API()})
	if apierrors.IsNotFound(err) {
		return apierrors.NewNotFound(GroupResource, run)
	}
	if err != nil {
		return fmt.Errorf("delete run %s: %w", run, err)
	}
	return nil
}

// Resolve turns a run or job name into a run name: a job name means its
// newest run, of the Jobs labelled as its runs that are runs of the job as
// it exists (Verify: a Job planted with run labels is never chosen).
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
	if len(jobs.Items) == 0 {
		return "", apierrors.NewNotFound(GroupResource, name)
	}
	def, img, err := verifiable(ctx, &jobdef.Store{Client: client, Namespace: ns}, name)
	if err != nil {
		return "", err
	}
	newest := ""
	var newestT metav1.Time
	for _, j := range jobs.Items {
		if Verify(def, img, &j) != nil {
			continue
		}
		if newest == "" || newestT.Before(&j.CreationTimestamp) || (newestT.Equal(&j.CreationTimestamp) && j.Name > newest) {
			newest, newestT = j.Name, j.CreationTimestamp
		}
	}
	if newest == "" {
		return "", apierrors.NewNotFound(GroupResource, name)
	}
	return newest, nil
}
