package run

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// perform is the second half of a trigger: under the job's lock it names
// the run, writes its Secrets, has the Releaser create it (admitting it by
// the job's rules while the release is held) and hands the Secrets to the
// run's Job. Refused or failed before the Job exists, it leaves nothing of
// the run behind.
func (t *Triggerer) perform(ctx context.Context, p *Plan) (*Result, error) {
	deadline := t.LockTimeout
	if deadline == 0 {
		deadline = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	unlock, err := t.lockJob(ctx, p)
	if err != nil {
		return nil, err
	}
	defer unlock()
	p.stamp(time.Now())
	res := p.result()
	// The run's Secrets are written by the Releaser's call once it has
	// read the release and found it the run chart's (that read is the
	// lock's too: one LIST of the history per trigger).
	var createdFiles *corev1.Secret
	var storeErr error
	stored := false
	store := func() error {
		if stored {
			return storeErr
		}
		stored = true
		createdFiles, storeErr = t.storeSecrets(ctx, p)
		return storeErr
	}
	adm := &admission{ctx: ctx, t: t, p: p}
	up, err := t.Releaser.Upgrade(ctx, p, UpgradeOptions{Prefetched: p.prefetched, Store: store, Admit: adm.admit, Speculate: adm.speculate,
		StaleAfter: t.StaleAfter, Clock: t.Clock, PruneByName: t.PruneByName, OnPruneFailure: t.OnPruneFailure})
	pruneWarning, refused := adm.pruned(), adm.refused
	if storeErr != nil {
		// storeSecrets left nothing behind.
		return nil, storeErr
	}
	if err != nil && !up.Created {
		// No Job was created: nothing of this run may stay behind.
		t.dropSecrets(ctx, p, createdFiles)
		return refusal(p, err, refused)
	}
	if err != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("run %s was created, but its Helm release record was not updated: %v", p.Run, err))
	}
	if pruneWarning != "" {
		res.Warnings = append(res.Warnings, pruneWarning)
	}
	res.Manifest = up.Manifest
	if p.Files != nil || p.ParamsSecret != nil {
		// The run exists whatever happens now: its Secrets are handed to it
		// (its files Secret made again if it went meanwhile) even if the
		// caller's deadline has passed.
		octx, ocancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer ocancel()
		if err := t.ownSecrets(octx, p, up.JobUID); err != nil {
			res.Warnings = append(res.Warnings, err.Error()+" (the garbage collector will not remove them with the run)")
		}
	}
	return res, nil
}

// admission decides on a run while its trigger holds the job's release,
// on a context that does not end there. The finished runs beyond the
// history limits are pruned (and the others marked) while Helm goes on to
// create the Job and record it: a trigger that ends runs waits for those
// writes only as long as they take beyond Helm's. Pruning only warns; it
// is over before the trigger returns (pruned).
type admission struct {
	ctx context.Context
	t   *Triggerer
	p   *Plan
	// refused is the last admission's error.
	refused error
	prunes  []chan string
	// reads are the reads of the runs speculate started.
	reads []chan struct{}
}

// speculate is the Releaser's UpgradeOptions.Speculate: the runs are read
// as of historyRV while the Releaser writes its record, and the attempt's
// admission decides on what they found.
func (a *admission) speculate(historyRV string) func(string) error {
	done := make(chan struct{})
	a.reads = append(a.reads, done)
	var set *runSet
	var err error
	go func() {
		defer close(done)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(a.ctx), 30*time.Second)
		defer cancel()
		set, err = readRuns(rctx, a.t.Client, a.p, historyRV)
	}()
	return func(string) error {
		<-done
		return a.decide(set, err)
	}
}

// admit is the Releaser's UpgradeOptions.Admit: the runs are read as of
// the trigger's record.
func (a *admission) admit(recordRV string) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(a.ctx), 30*time.Second)
	defer cancel()
	set, err := readRuns(rctx, a.t.Client, a.p, recordRV)
	return a.decide(set, err)
}

// decide admits the run by the job's rules, given the job's runs (or the
// error of reading them), and starts pruning the history.
func (a *admission) decide(set *runSet, err error) error {
	actx, acancel := context.WithTimeout(context.WithoutCancel(a.ctx), 30*time.Second)
	if err == nil {
		err = admitActive(actx, a.t.Client, a.p.Def, a.p.Run, set.active)
	}
	if a.refused = err; err != nil {
		acancel()
		return err
	}
	done := make(chan string, 1)
	a.prunes = append(a.prunes, done)
	go func() {
		defer acancel()
		done <- pruneRuns(actx, a.t.Client, a.p.Def, set)
	}()
	return nil
}

// pruned waits for the reads and prunes admission started and returns the
// last prune's warning ("" if none).
func (a *admission) pruned() string {
	for _, done := range a.reads {
		<-done
	}
	warning := ""
	for _, done := range a.prunes {
		warning = <-done
	}
	return warning
}

// refusal is the trigger's answer when no Job was created: err of the
// Releaser, refused the error of the job's rules (admission, or the rate
// limit) if they refused it. A run found under the release with the
// trigger's idempotency key is the answer then.
func refusal(p *Plan, err, refused error) (*Result, error) {
	var limited *RateLimitedError
	if refused == nil && errors.As(err, &limited) {
		refused = err
	}
	switch {
	case IsForeignRelease(err):
		return nil, err
	case refused != nil:
		if res, done := keyedResult(p, refused); done {
			return res, nil
		}
		return nil, refused
	}
	return nil, fmt.Errorf("trigger job %s: %w", p.Def.Name, err)
}

// storeSecrets writes the run's Secrets before its Job is created (after
// sweeping those killed triggers left behind): the job's files Secret
// unless it exists (created is it when this call created it), and the
// run's own Secret of secret parameter values.
func (t *Triggerer) storeSecrets(ctx context.Context, p *Plan) (created *corev1.Secret, _ error) {
	if p.Files == nil && p.ParamsSecret == nil {
		return nil, nil
	}
	ns := p.Def.Namespace
	t.sweepOrphanFiles(ctx, ns, p.Def.Name)
	if p.Files != nil {
		var err error
		if created, err = t.storeFiles(ctx, ns, p.Files); err != nil {
			return nil, err
		}
	}
	if p.ParamsSecret != nil {
		if _, err := t.Client.CoreV1().Secrets(ns).Create(ctx, p.ParamsSecret, metav1.CreateOptions{FieldManager: jobdef.ManagedBy}); err != nil {
			t.dropFiles(ctx, ns, created)
			return nil, fmt.Errorf("store secret parameters of run %s: %w", p.Run, err)
		}
	}
	return created, nil
}

// dropSecrets deletes the run's Secrets when its Job was not created.
func (t *Triggerer) dropSecrets(ctx context.Context, p *Plan, createdFiles *corev1.Secret) {
	if p.ParamsSecret != nil {
		_ = t.Client.CoreV1().Secrets(p.Def.Namespace).Delete(context.WithoutCancel(ctx), p.ParamsSecret.Name, metav1.DeleteOptions{})
	}
	t.dropFiles(ctx, p.Def.Namespace, createdFiles)
}
