package helmrun

import (
	"context"
	"fmt"

	"github.com/shipjob/kubectl-shipjob/plugin/run"

	"helm.sh/helm/v3/pkg/storage/driver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/charts"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// DeleteJob deletes job name: its runs with their pods and files (unless
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
func DeleteJob(ctx context.Context, client kubernetes.Interface, ns, name string, opts run.DeleteJobOptions) (run.DeleteJobResult, error) {
	store := &jobdef.Store{Client: client, Namespace: ns}
	if _, err := store.Get(ctx, name); err != nil && !jobdef.IsInvalid(err) {
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
	if err := deleteReleaseRecords(ctx, client, ns, name, opts.DryRun); err != nil {
		return run.DeleteJobResult{}, err
	}
	if opts.DryRun != run.DryRunClient {
		wo := jobdef.WriteOptions{DryRun: opts.DryRun.API(), FieldManager: jobdef.ManagedBy}
		if err := store.DeleteSigningSecret(ctx, name, wo); err != nil {
			return run.DeleteJobResult{}, err
		}
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

// deleteReleaseRecords deletes the job's Helm release records (Secrets
// labelled owner=helm, name=job, of Helm's release type), one Delete by
// name each (the verb "delete", as pruning). Only records that decode as a release of the run chart named
// like the job are deleted; any other (an application's release of that
// name, or something unreadable) is left alone. Nothing of a record's
// content is acted on.
func deleteReleaseRecords(ctx context.Context, client kubernetes.Interface, ns, job string, dry run.DryRun) error {
	list, err := client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{
		LabelSelector: "owner=helm,name=" + job,
		FieldSelector: "type=" + releaseSecretType,
	})
	if err != nil {
		return fmt.Errorf("list the Helm release records of job %s: %w", job, err)
	}
	var keys []string
	for i := range list.Items {
		sec := &list.Items[i]
		rel, err := driver.NewSecrets(fixedSecret{secret: sec}).Get(sec.Name)
		if err != nil || rel.Name != job || rel.Chart == nil || rel.Chart.Metadata == nil || rel.Chart.Metadata.Name != charts.RunChartName {
			continue
		}
		keys = append(keys, sec.Name)
	}
	if dry == run.DryRunClient || len(keys) == 0 {
		return nil
	}
	if _, err := deleteRecordsByName(ctx, client.CoreV1().Secrets(ns), keys, metav1.DeleteOptions{DryRun: dry.API()}); err != nil {
		return fmt.Errorf("delete the Helm release of job %s: %w", job, err)
	}
	return nil
}

// releaseSecretType is the type of Helm's release record Secrets.
const releaseSecretType = "helm.sh/release.v1"
