package run

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// readRuns reads what admission decides on: the run of the trigger's
// idempotency key, if any (an *existingRunError when it exists), and the
// job's runs (returned for admitActive, and for pruneRuns: the finished
// runs beyond the job's history limits; the caller runs it while the
// trigger goes on). Admission decides while the trigger holds the job's
// Helm release (its pending record is written: see Releaser.Upgrade), so
// triggers of one job are decided one at a time across every process and
// hook replica, and each sees the runs the earlier ones created: the runs
// are listed at least as new as rv, the trigger's own release record or
// the history it read before writing it (see UpgradeOptions.Speculate),
// served by the API server's watch cache once it has caught up. Finished
// runs are read as metadata only, of this definition only (see listRuns),
// so a long history costs little.
func readRuns(ctx context.Context, client kubernetes.Interface, p *Plan, rv string) (*runSet, error) {
	def, keyed := p.Def, p.keyed
	if keyed != nil {
		if err := findKeyed(ctx, client, def.Namespace, def.Name, keyed.key, keyed.params, keyed.secrets, keyed.image, rv); err != nil {
			return nil, err
		}
	}
	return listRuns(ctx, client, def, rv)
}

// admitActive decides on the active runs by the concurrency policy and
// maxActiveRuns.
func admitActive(ctx context.Context, client kubernetes.Interface, def *jobdef.Job, runName string, active []string) error {
	policy, limit := def.Spec.Policy(), def.Spec.ActiveLimit()
	switch {
	case len(active) == 0:
		return nil
	case policy == jobdef.ForbidConcurrent:
		return &ConflictError{Job: def.Name, Active: active, Reason: fmt.Sprintf(
			"job %s forbids concurrent runs and run %s is active", def.Name, strings.Join(active, ", "))}
	case policy == jobdef.ReplaceConcurrent:
		for _, name := range active {
			if _, err := Cancel(ctx, client, def.Namespace, name, replacedByPrefix+runName, DryRunNone); err != nil && !IsFinished(err) {
				return fmt.Errorf("replace active run %s: %w", name, err)
			}
		}
		return nil
	case limit > 0 && len(active) >= limit:
		return &ConflictError{Job: def.Name, Active: active, Reason: fmt.Sprintf(
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
