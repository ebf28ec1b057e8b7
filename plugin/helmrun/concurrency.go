package helmrun

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/shipjob/kubectl-shipjob/plugin/run"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// admitRun applies the job's concurrency rules for a new run. It is called
// while the trigger holds the job's Helm release (its pending record is
// written: see runKube.admit), so triggers of one job are decided one at a
// time across every process and hook replica, and each sees the runs the
// earlier ones created: the runs are listed at least as new as the
// trigger's own release record (resourceVersion NotOlderThan it, served by
// the API server's watch cache once it has caught up). Succeeded runs are
// left out by the API server (field status.successful=0), so a long
// history of successful runs costs nothing.
func admitRun(ctx context.Context, client kubernetes.Interface, def *jobdef.Job, runName, recordRV string, keyed *keyedRun) error {
	if keyed != nil {
		if err := run.FindKeyed(ctx, client, def.Namespace, def.Name, keyed.key, keyed.params, keyed.secrets, keyed.image, recordRV); err != nil {
			return err
		}
	}
	policy, limit := def.Spec.Policy(), def.Spec.ActiveLimit()
	if policy == jobdef.AllowConcurrent && limit == 0 {
		return nil
	}
	active, err := activeRuns(ctx, client, def.Namespace, def.Name, recordRV)
	if err != nil {
		return err
	}
	switch {
	case len(active) == 0:
		return nil
	case policy == jobdef.ForbidConcurrent:
		return &run.ConflictError{Job: def.Name, Active: active, Reason: fmt.Sprintf(
			"job %s forbids concurrent runs and run %s is active", def.Name, strings.Join(active, ", "))}
	case policy == jobdef.ReplaceConcurrent:
		for _, name := range active {
			if _, err := run.Cancel(ctx, client, def.Namespace, name, run.ReplacedByPrefix+runName, run.DryRunNone); err != nil && !run.IsFinished(err) {
				return fmt.Errorf("replace active run %s: %w", name, err)
			}
		}
		return nil
	case limit > 0 && len(active) >= limit:
		return &run.ConflictError{Job: def.Name, Active: active, Reason: fmt.Sprintf(
			"job %s has %d active runs, its limit (maxActiveRuns): wait for one to finish or cancel one", def.Name, limit)}
	}
	return nil
}

// keyedRun is what an idempotency key is checked against.
type keyedRun struct {
	key, image string
	// params are shown (secret ones masked); secrets are the secret
	// parameters' values, compared with the run's digest of them.
	params, secrets map[string]string
}

// activeRuns names the runs of job that have not finished, oldest first.
func activeRuns(ctx context.Context, client kubernetes.Interface, ns, job, rv string) ([]string, error) {
	opts := metav1.ListOptions{LabelSelector: run.Selector(job), FieldSelector: "status.successful=0"}
	if rv != "" {
		opts.ResourceVersion, opts.ResourceVersionMatch = rv, metav1.ResourceVersionMatchNotOlderThan
	}
	list, err := client.BatchV1().Jobs(ns).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list active runs of job %s: %w", job, err)
	}
	var active []batchv1.Job
	for _, j := range list.Items {
		if j.DeletionTimestamp == nil && j.Annotations[run.AnnotationCancelledAt] == "" &&
			run.JobCondition(&j, batchv1.JobComplete) == nil && run.JobCondition(&j, batchv1.JobFailed) == nil &&
			run.JobCondition(&j, batchv1.JobSuccessCriteriaMet) == nil && run.JobCondition(&j, batchv1.JobFailureTarget) == nil {
			active = append(active, j)
		}
	}
	sort.Slice(active, func(a, b int) bool { return active[a].Name < active[b].Name })
	names := make([]string, len(active))
	for i := range active {
		names[i] = active[i].Name
	}
	return names, nil
}
