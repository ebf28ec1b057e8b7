package run

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// deleteJob deletes job name: its runs with their pods and files (unless
// opts.KeepRuns), its Helm release records, its signing Secret, and its
// definition last, so a delete that fails half-way can be retried (its
// hooks are owned by the definition: the garbage collector deletes them
// with it). A missing job is NotFound (jobs.shipjob.dev); an invalid one
// is deleted all the same.
//
// It never runs Helm's uninstall, nor anything else driven by what a
// release record says: a record is a Secret that whoever may update
// Secrets in the namespace can edit, and an uninstall deletes every object
// its manifest lists and runs its pre-delete hooks, in any namespace, with
// the deleter's rights. Our records hold only runs marked keep, so an
// uninstall never had anything legitimate to delete: the records are
// deleted by name, and only those of the run chart (an application's
// release that shares the job's name is left alone).
func deleteJob(ctx context.Context, client kubernetes.Interface, releaser Releaser, ns, name string, opts DeleteJobOptions) (DeleteJobResult, error) {
	store := &jobdef.Store{Client: client, Namespace: ns}
	if _, err := store.Get(ctx, name); err != nil && !jobdef.IsInvalid(err) {
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
	if err := releaser.DeleteRecords(ctx, ns, name, opts.DryRun); err != nil {
		return DeleteJobResult{}, err
	}
	if opts.DryRun != DryRunClient {
		wo := jobdef.WriteOptions{DryRun: opts.DryRun.API(), FieldManager: jobdef.ManagedBy}
		if err := store.DeleteSigningSecret(ctx, name, wo); err != nil {
			return DeleteJobResult{}, err
		}
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
	secrets, err := client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: filesSelector(job)})
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
