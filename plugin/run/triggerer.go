package run

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
)

// Triggerer triggers runs and deletes jobs: the Engine that
// `kubectl shipjob run`, the hook server and the web UI share
// (helmrun.New makes one over Helm). It is safe for concurrent use.
// A trigger has two halves, as Helm's upgrade action: prepare reads and
// checks everything and returns the run's Plan, writing nothing; perform
// writes (the run's Secrets, the release through the Releaser, the
// Secrets' ownership). A dry run is prepare and Releaser.Render. Triggers
// of one job are serialized in a process by a semaphore and across
// processes by the job's release (see Releaser.Upgrade).
type Triggerer struct {
	Client   kubernetes.Interface
	Releaser Releaser
	// LockTimeout bounds the wait for other triggers of the same job
	// (default 2 minutes). Once a trigger has started its upgrade it is
	// not interrupted (see Releaser.Upgrade).
	LockTimeout time.Duration
	// StaleAfter is how long a release may stay pending before a trigger
	// treats it as left by a killed trigger and heals it (0: the
	// Releaser's default, or SHIPJOB_STALE_AFTER: see StaleAfterFromEnv).
	// Measured on the API server's clock.
	StaleAfter time.Duration
	// Clock is the API server's clock (nil: the local one). Its Wrap must
	// be on the transport of Client for it to know the server's time.
	Clock *ServerClock
	// PruneByName prunes release history with one Delete per record (the
	// verb "delete") instead of one DeleteCollection ("deletecollection").
	// The hook server sets it: its chart's Role grants delete only.
	PruneByName bool
	// OnPruneFailure, if set, is told when old release records could not
	// be deleted (the history then grows until a later trigger can).
	OnPruneFailure func(namespace, job string, failed int, err error)

	local sync.Map // namespace/job -> chan struct{}: one trigger per job per process
	swept sync.Map // namespace/job -> time.Time of the last orphan sweep
}

var _ Engine = (*Triggerer)(nil)

// Trigger starts a run of req.Job as it is defined now. Errors: a
// NotFound API error (no such job), *ReplacedError (not the job of
// req.JobUID), *jobdef.InvalidError (its stored definition does not pass
// validation), *ForeignReleaseError (the release of its name is of another
// chart), *InputError (a parameter or tag), *ConflictError and
// *RateLimitedError (refused by the job's rules), *RenderError (a bug);
// nothing is written then. Once the run's Job exists Trigger succeeds,
// with Warnings for what failed after it.
func (t *Triggerer) Trigger(ctx context.Context, req Request) (*Result, error) {
	var prefetched any
	// Not with an idempotency key: its retries mostly find their run and
	// never read the release.
	if pf, ok := t.Releaser.(Prefetcher); ok && req.DryRun == DryRunNone && req.IdempotencyKey == "" {
		var wait func()
		prefetched, wait = pf.Prefetch(ctx, req.Namespace, req.Job)
		defer wait() // nothing of a trigger outlives it
	}
	p, err := t.prepare(ctx, req)
	if p != nil {
		p.prefetched = prefetched
	}
	if err != nil {
		if res, done := keyedResult(p, err); done {
			return res, nil
		}
		return nil, err
	}
	if req.DryRun != DryRunNone {
		return t.dryRun(ctx, p, req.DryRun)
	}
	return t.perform(ctx, p)
}

// keyedResult turns an *existingRunError (a run made with the trigger's
// idempotency key) into the trigger's answer: that run, Unchanged.
func keyedResult(p *Plan, err error) (*Result, bool) {
	var existing *existingRunError
	if p == nil || !errors.As(err, &existing) {
		return nil, false
	}
	res := p.result()
	res.Run, res.Unchanged, res.Manifest = existing.Run, true, existing.Manifest
	return res, true
}

// lockJob takes the job's semaphore of this process (one trigger per job
// at a time; across processes the job's release is the lock).
func (t *Triggerer) lockJob(ctx context.Context, p *Plan) (unlock func(), _ error) {
	v, _ := t.local.LoadOrStore(p.Def.Namespace+"/"+p.Def.Name, make(chan struct{}, 1))
	sem := v.(chan struct{})
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	default:
		// Another trigger of the job holds it: the release read before
		// (prefetched) misses what that one writes.
		p.prefetched = nil
	}
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for another trigger of this job in this process: %w", ctx.Err())
	}
}

// DeleteJob deletes job name: its runs with their pods and files (unless
// opts.KeepRuns), its release records (through the Releaser), its signing
// Secret and its definition last (see deleteJob).
func (t *Triggerer) DeleteJob(ctx context.Context, ns, name string, opts DeleteJobOptions) (DeleteJobResult, error) {
	return deleteJob(ctx, t.Client, t.Releaser, ns, name, opts)
}
