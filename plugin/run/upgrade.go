package run

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// upgrade installs or upgrades the job's release with the plan, retrying
// while another process's trigger of the same job holds the release, and
// healing a release a killed trigger left pending. Helm writes each new
// revision with a Create, so of two concurrent upgrades exactly one goes
// on; the other sees "already exists" or a pending release and retries.
func (t *Triggerer) upgrade(ctx context.Context, base *action.Configuration, ns, name string, p *plan) (*release.Release, *runKube, error) {
	stale := t.StaleAfter
	if stale == 0 {
		stale = 20 * time.Second
	}
	backoff := 20 * time.Millisecond
	for {
		kc := &runKube{helmKube: base.KubeClient.(*helmKube)}
		cache := newReleaseCache(t.Client.CoreV1().Secrets(ns), name)
		cfg := &action.Configuration{
			RESTClientGetter: base.RESTClientGetter,
			KubeClient:       kc,
			Releases:         storage.Init(cache),
			// The run chart reads no capabilities: skip Helm's discovery.
			Capabilities: chartutil.DefaultCapabilities,
			Log:          func(string, ...interface{}) {},
		}
		rel, err := attempt(ctx, cfg, cache, ns, name, p, stale)
		if err == nil {
			// Best effort: an unpruned history is pruned by the next trigger.
			_ = cache.prune(ctx, MaxHistory, pruneSlack)
			return rel, kc, nil
		}
		if !busy(err) {
			return nil, nil, err
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("another trigger of job %s kept its release busy: %w", name, ctx.Err())
		case <-time.After(backoff + rand.N(backoff)):
		}
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

// pruneSlack lets the history grow by this many records before one request
// prunes it back to MaxHistory.
const pruneSlack = 5

func attempt(ctx context.Context, cfg *action.Configuration, cache *releaseCache, ns, name string, p *plan, stale time.Duration) (*release.Release, error) {
	last, err := cfg.Releases.Last(name)
	switch {
	case errors.Is(err, driver.ErrReleaseNotFound):
		in := action.NewInstall(cfg)
		in.ReleaseName, in.Namespace = name, ns
		in.PostRenderer = p.renderer
		in.Description = "run " + p.run
		in.DisableOpenAPIValidation = true
		return in.RunWithContext(ctx, p.chart, p.values)
	case err != nil:
		return nil, fmt.Errorf("read release %s: %w", name, err)
	case last.Info.Status.IsPending():
		if age := time.Since(last.Info.LastDeployed.Time); age < stale {
			return nil, errBusy
		}
		// Left behind by a trigger that was killed mid-upgrade — unless the
		// history, read from the API server's cache, is behind: confirm
		// with a consistent read of the record.
		fresh, err := cache.Secrets.Get(releaseKey(name, last.Version))
		if err != nil {
			return nil, fmt.Errorf("read release %s: %w", name, err)
		}
		if !fresh.Info.Status.IsPending() {
			return nil, errBusy
		}
		last = fresh
		last.SetStatus(release.StatusFailed, "interrupted trigger, healed by kubectl-shipjob")
		if err := cfg.Releases.Update(last); err != nil {
			return nil, fmt.Errorf("heal release %s left pending: %w", name, err)
		}
	}
	up := action.NewUpgrade(cfg)
	up.Namespace = ns
	up.PostRenderer = p.renderer
	up.ResetValues = true
	up.Description = "run " + p.run
	up.DisableOpenAPIValidation = true
	return up.RunWithContext(ctx, name, p.chart, p.values)
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
