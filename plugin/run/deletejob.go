package run

import (
	"context"
	"errors"
	"fmt"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/storage/driver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// API is the dryRun value of API requests in this mode: "All" in server
// mode, nil otherwise (a client dry run sends no write at all).
func (d DryRun) API() []string {
	if d == DryRunServer {
		return []string{metav1.DryRunAll}
	}
	return nil
}

// DeleteJobOptions tune DeleteJob.
type DeleteJobOptions struct {
	// KeepRuns leaves the job's runs (and their files) until their
	// retention ends.
	KeepRuns bool
	// DryRun: client reads and counts only; server sends every delete
	// with dryRun=All.
	DryRun DryRun
}

// DeleteJobResult is what DeleteJob removed.
type DeleteJobResult struct {
	// Runs is how many runs were deleted (0 when kept).
	Runs int
	// RunsKept is true with KeepRuns.
	RunsKept bool
}

// DeleteJob deletes job name: its Helm release, its runs with their pods
// and files (unless opts.KeepRuns), and its definition last, so a delete
// that fails half-way can be retried. A missing job is NotFound
// (jobs.shipjob.dev); a missing release is fine. getter is the kubectl
// configuration Helm's uninstall talks through.
func DeleteJob(ctx context.Context, client kubernetes.Interface, getter genericclioptions.RESTClientGetter, ns, name string, opts DeleteJobOptions) (DeleteJobResult, error) {
	store := &jobdef.Store{Client: client, Namespace: ns}
	if _, err := store.Get(ctx, name); err != nil {
		return DeleteJobResult{}, err
	}
	if err := uninstall(client, getter, ns, name, opts.DryRun != DryRunNone); err != nil {
		return DeleteJobResult{}, err
	}
	res := DeleteJobResult{RunsKept: opts.KeepRuns}
	if !opts.KeepRuns {
		n, err := deleteRuns(ctx, client, ns, name, opts.DryRun)
		if err != nil {
			return DeleteJobResult{}, err
		}
		res.Runs = n
	}
	if opts.DryRun != DryRunClient {
		wo := jobdef.WriteOptions{DryRun: opts.DryRun.API(), FieldManager: jobdef.ManagedBy}
		if err := store.Delete(ctx, name, wo); err != nil {
			return DeleteJobResult{}, err
		}
	}
	return res, nil
}

// deleteRuns deletes the job's run Jobs (their pods go with them) and their
// files Secrets, and returns how many runs there were.
func deleteRuns(ctx context.Context, client kubernetes.Interface, ns, job string, dry DryRun) (int, error) {
	jobs, err := client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: Selector(job)})
	if err != nil {
		return 0, fmt.Errorf("list runs of %s: %w", job, err)
	}
	if dry == DryRunClient {
		return len(jobs.Items), nil
	}
	background := metav1.DeletePropagationBackground
	del := metav1.DeleteOptions{PropagationPolicy: &background, DryRun: dry.API()}
	for _, j := range jobs.Items {
		err := client.BatchV1().Jobs(ns).Delete(ctx, j.Name, del)
		if err != nil && !apierrors.IsNotFound(err) { // NotFound: its retention ended meanwhile
			return 0, fmt.Errorf("delete run %s: %w", j.Name, err)
		}
	}
	secrets, err := client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: FilesSelector(job)})
	if err != nil {
		return 0, fmt.Errorf("list run files of %s: %w", job, err)
	}
	for _, s := range secrets.Items {
		err := client.CoreV1().Secrets(ns).Delete(ctx, s.Name, metav1.DeleteOptions{DryRun: del.DryRun})
		if err != nil && !apierrors.IsNotFound(err) {
			return 0, fmt.Errorf("delete run files %s: %w", s.Name, err)
		}
	}
	return len(jobs.Items), nil
}

// uninstall removes the job's release (named like the job); runs survive
// it (they carry helm.sh/resource-policy: keep). A dry run only reads it.
func uninstall(client kubernetes.Interface, getter genericclioptions.RESTClientGetter, ns, name string, dry bool) error {
	u := action.NewUninstall(HelmConfig(getter, client, ns))
	u.IgnoreNotFound, u.DryRun = true, dry
	if _, err := u.Run(name); err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		return fmt.Errorf("uninstall the Helm release of job %s: %w", name, err)
	}
	return nil
}
