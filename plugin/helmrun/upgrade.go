package helmrun

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/run"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// upgrade installs or upgrades the job's release with the plan, retrying
// while another process's trigger of the same job holds the release, and
// healing a release a killed trigger left pending. Helm writes each new
// revision with a Create, so of two concurrent upgrades exactly one goes
// on; the other sees "already exists" or a pending release and retries.
//
// ctx bounds the retries only. Helm is handed a context that never ends:
// once it has written the pending record it goes on to create the Job and
// record the outcome, and it returns only then (given a context that
// ends, Helm returns at once, marks the release failed and creates the Job
// anyway from a goroutine that is never collected). The kube client whose
// Create made the run's Job is returned also with an error: see Trigger.
func (t *Triggerer) upgrade(ctx context.Context, base *action.Configuration, ns, name string, p *plan) (*release.Release, *runKube, error) {
	stale := t.StaleAfter
	if stale == 0 {
		stale = DefaultStaleAfter
	}
	backoff := 20 * time.Millisecond
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("another trigger of job %s kept its release busy: %w", name, err)
		}
		kc := &runKube{helmKube: base.KubeClient.(*helmKube)}
		cache := newReleaseCache(t.Client.CoreV1().Secrets(ns), name)
		if p.admit != nil {
			kc.admit = func() error { return p.admit(cache.secrets.created) }
		}
		cfg := &action.Configuration{
			RESTClientGetter: base.RESTClientGetter,
			KubeClient:       kc,
			Releases:         storage.Init(cache),
			// The run chart reads no capabilities: skip Helm's discovery.
			Capabilities: chartutil.DefaultCapabilities,
			Log:          func(string, ...interface{}) {},
		}
		rel, err := t.attempt(ctx, cfg, cache, ns, name, p, stale)
		if err == nil {
			t.prune(ctx, cache, ns, name)
			return rel, kc, nil
		}
		var limited *run.RateLimitedError
		if errors.As(err, &limited) {
			kc.refused = err
		}
		if kc.job(p.run) != nil || kc.refused != nil || !busy(err) {
			return rel, kc, err
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("another trigger of job %s kept its release busy: %w", name, ctx.Err())
		case <-time.After(backoff + rand.N(backoff)):
		}
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

// DefaultStaleAfter is Triggerer.StaleAfter's default.
const DefaultStaleAfter = 20 * time.Second

// prune bounds the history (best effort: the next trigger tries again),
// telling OnPruneFailure what it could not delete.
func (t *Triggerer) prune(ctx context.Context, cache *releaseCache, ns, name string) {
	forbidden, failed, err := cache.prune(ctx, run.MaxHistory, pruneSlack, t.PruneByName || t.pruneByName.Load())
	if forbidden {
		t.pruneByName.Store(true)
	}
	if err != nil && t.OnPruneFailure != nil {
		t.OnPruneFailure(ns, name, failed, err)
	}
}

// pruneSlack lets the history grow by this many records before one request
// prunes it back to MaxHistory.
const pruneSlack = 5

func (t *Triggerer) attempt(ctx context.Context, cfg *action.Configuration, cache *releaseCache, ns, name string, p *plan, stale time.Duration) (*release.Release, error) {
	helmCtx := context.WithoutCancel(ctx)
	if err := checkOwnRelease(cache, ns); err != nil {
		return nil, err
	}
	last, err := cfg.Releases.Last(name)
	switch {
	case errors.Is(err, driver.ErrReleaseNotFound):
		labels, err := rateLabels(name, p.perMinute, nil, t.Clock.Now())
		if err != nil {
			return nil, err
		}
		in := action.NewInstall(cfg)
		in.Labels = labels
		in.ReleaseName, in.Namespace = name, ns
		in.PostRenderer = p.renderer
		in.Description = "run " + p.run
		in.DisableOpenAPIValidation = true
		return in.RunWithContext(helmCtx, p.chart, p.values)
	case err != nil:
		return nil, fmt.Errorf("read release %s: %w", name, err)
	case last.Info.Status.IsPending():
		if err := t.heal(ctx, cache, releaseKey(name, last.Version), stale); err != nil {
			return nil, err
		}
	}
	labels, err := rateLabels(name, p.perMinute, last, t.Clock.Now())
	if err != nil {
		return nil, err
	}
	up := action.NewUpgrade(cfg)
	up.Labels = labels
	up.Namespace = ns
	up.PostRenderer = p.renderer
	up.ResetValues = true
	up.Description = "run " + p.run
	up.DisableOpenAPIValidation = true
	up.MaxHistory = 0 // pruned by us, in fewer requests (see prune)
	return up.RunWithContext(helmCtx, name, p.chart, p.values)
}

// heal marks a pending release record failed once it has been pending for
// stale on the API server's clock (its Secret's creationTimestamp is when
// its trigger began): it was left by a trigger that was killed mid-upgrade.
// The history may come from the API server's cache, so the record is
// re-read consistently, and it is updated only at the resourceVersion read:
// a live trigger that finishes in between wins (Conflict → busy, retry).
func (t *Triggerer) heal(ctx context.Context, cache *releaseCache, key string, stale time.Duration) error {
	if created := cache.createdAt(key); !created.IsZero() && t.Clock.Since(created) < stale {
		return errBusy
	}
	fresh, meta, err := cache.getFresh(ctx, key)
	switch {
	case apierrors.IsNotFound(err):
		return errBusy
	case err != nil:
		return fmt.Errorf("read release record %s: %w", key, err)
	case !fresh.Info.Status.IsPending(), t.Clock.Since(meta.CreationTimestamp.Time) < stale:
		return errBusy
	}
	fresh.SetStatus(release.StatusFailed, "interrupted trigger, healed by kubectl-shipjob")
	if err := cache.updateIfUnchanged(key, fresh, meta.ResourceVersion); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return errBusy
		}
		return fmt.Errorf("heal release record %s left pending: %w", key, err)
	}
	return nil
}

var errBusy = errors.New("release busy")

// busy reports whether err means another trigger is upgrading the release
// right now (or won the race to create its next revision).
func busy(err error) bool {
	if errors.Is(err, errBusy) || errors.Is(err, driver.ErrReleaseExists) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "another operation (install/upgrade/rollback) is in progress") ||
		strings.Contains(msg, driver.ErrReleaseExists.Error()) || strings.Contains(msg, "cannot re-use a name that is still in use")
}

func lockCtx(ctx context.Context, sem chan struct{}) error {
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for another trigger of this job in this process: %w", ctx.Err())
	}
}

func ptrTo[T any](v T) *T { return &v }
