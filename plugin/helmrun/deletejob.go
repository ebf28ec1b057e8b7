package helmrun

import (
	"context"
	"errors"
	"fmt"

	"github.com/shipjob/kubectl-shipjob/plugin/run"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/storage/driver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// DeleteJob deletes job name: its Helm release, its runs with their pods
// and files (unless opts.KeepRuns), and its definition last, so a delete
// that fails half-way can be retried. A missing job is NotFound
// (jobs.shipjob.dev); a missing release is fine. getter is the kubectl
// configuration Helm's uninstall talks through.
func DeleteJob(ctx context.Context, client kubernetes.Interface, getter genericclioptions.RESTClientGetter, ns, name string, opts run.DeleteJobOptions) (run.DeleteJobResult, error) {
	store := &jobdef.Store{Client: client, Namespace: ns}
	if _, err := store.Get(ctx, name); err != nil {
		return run.DeleteJobResult{}, err
	}
	if err := uninstall(client, getter, ns, name, opts.DryRun != run.DryRunNone); err != nil {
		return run.DeleteJobResult{}, err
	}
	res := run.DeleteJobResult{RunsKept: opts.KeepRuns}
	if !opts.KeepRuns {
		n, err := deleteRuns(ctx, client, ns, name, opts.DryRun)
		if err != nil {
			return run.DeleteJobResult{}, err
		}
		res.Runs = n
	}
	if opts.DryRun != run.DryRunClient {
		wo := jobdef.WriteOptions{DryRun: opts.DryRun.API(), FieldManager: jobdef.ManagedBy}
		if err := store.Delete(ctx, name, wo); err != nil {
			return run.DeleteJobResult{}, err
		}
	}
	return res, nil
}

// deleteRuns deletes the job's run Jobs (their pods go with them) and their
// files Secrets, and returns how many runs there were.
func deleteRuns(ctx context.Context, client kubernetes.Interface, ns, job string, dry run.DryRun) (int, error) {
	jobs, err := client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: run.Selector(job)})
	if err != nil {
		return 0, fmt.Errorf("list runs of %s: %w", job, err)
	}
	if dry == run.DryRunClient {
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
	secrets, err := client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: run.FilesSelector(job)})
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
