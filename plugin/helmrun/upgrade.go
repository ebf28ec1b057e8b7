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
	"k8s.io/apimachinery/pkg/api/meta"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// Upgrade installs or upgrades the job's release with the plan, retrying
// while another process's trigger of the same job holds the release, and
// healing a release a killed trigger left pending. Helm writes each new
// revision with a Create, so of two concurrent upgrades exactly one goes
// on; the other sees "already exists" or a pending release and retries.
//
// ctx bounds the retries only. Helm is handed a context that never ends:
// once it has written the pending record it goes on to create the Job and
// record the outcome, and it returns only then (given a context that
// ends, Helm returns at once, marks the release failed and creates the Job
// anyway from a goroutine that is never collected). A run's Job created
// is reported also with an error (see run.Releaser).
func (r *releaser) Upgrade(ctx context.Context, p *run.Plan, o run.UpgradeOptions) (run.Upgraded, error) {
	rd, err := newRendering(p)
	if err != nil {
		return run.Upgraded{}, err
	}
	ns, name := p.Def.Namespace, p.Def.Name
	base := r.helmConfig(ns)
	var storeErr error // the run's Secrets could not be written: no retry
	if store := o.Store; store != nil {
		o.Store = func() error { storeErr = store(); return storeErr }
	}
	backoff := 20 * time.Millisecond
	for {
		if err := ctx.Err(); err != nil {
			return run.Upgraded{}, fmt.Errorf("another trigger of job %s kept its release busy: %w", name, err)
		}
		kc := &runKube{helmKube: base.KubeClient.(*helmKube), run: p.Run}
		cache := newReleaseCache(r.client.CoreV1().Secrets(ns), name)
		if pf, ok := o.Prefetched.(*prefetched); ok {
			cache.secrets.prefetched = pf // the first attempt only
			o.Prefetched = nil
		}
		if admit := o.Admit; admit != nil {
			kc.admit = func() error { return admit(cache.secrets.created) }
			if o.Speculate != nil {
				cache.secrets.creating = func(listed string) { admit = o.Speculate(listed) }
			}
		}
		cfg := &action.Configuration{
			RESTClientGetter: base.RESTClientGetter,
			KubeClient:       kc,
			Releases:         storage.Init(cache),
			// The run chart reads no capabilities: skip Helm's discovery.
			Capabilities: chartutil.DefaultCapabilities,
			Log:          func(string, ...interface{}) {},
		}
		rel, err := r.attempt(ctx, cfg, cache, rd, p, o)
		cache.flush()
		if err == nil || kc.refused != nil {
			// A refused run's record stays, failed: pruned too, or a job
			// kept at its limit by a busy hook grows its history by a
			// record per refusal until a trigger succeeds.
			r.prune(ctx, cache, ns, name, o)
		}
		if key := cache.secrets.createdName; err != nil && key != "" {
			// Helm has returned: the record this attempt created is no
			// longer live. Cut off from the API server, Helm could not
			// mark it failed; left pending, it would hold every trigger
			// of the job for StaleAfter. A long-lived process (the hook
			// server) releases it once the API server answers again.
			go releaseOwn(r.client.CoreV1().Secrets(ns), name, key, ownRetry)
		}
		var limited *run.RateLimitedError
		if errors.As(err, &limited) {
			kc.refused = err
		}
		if err == nil || storeErr != nil || kc.job(p.Run) != nil || kc.refused != nil || !busy(err) {
			return upgraded(rel, kc, rd, p), err
		}
		select {
		case <-ctx.Done():
			return run.Upgraded{}, fmt.Errorf("another trigger of job %s kept its release busy: %w", name, ctx.Err())
		case <-time.After(backoff + rand.N(backoff)):
		}
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

// upgraded is what an upgrade did: the run's Job if this attempt's kube
// client created it, and the manifest applied.
func upgraded(rel *release.Release, kc *runKube, rd *rendering, p *run.Plan) run.Upgraded {
	up := run.Upgraded{Manifest: rd.renderer.rendered}
	if rel != nil {
		up.Manifest = rel.Manifest
	}
	if info := kc.job(p.Run); info != nil {
		up.Created = true
		if m, err := meta.Accessor(info.Object); err == nil {
			up.JobUID = m.GetUID()
		}
	}
	return up
}

// DefaultStaleAfter is run.UpgradeOptions.StaleAfter's default.
const DefaultStaleAfter = 20 * time.Second

// prune bounds the history (best effort: the next trigger tries again),
// telling OnPruneFailure what it could not delete.
func (r *releaser) prune(ctx context.Context, cache *releaseCache, ns, name string, o run.UpgradeOptions) {
	forbidden, failed, err := cache.prune(ctx, run.MaxHistory, pruneSlack, o.PruneByName || r.pruneByName.Load())
	if forbidden {
		r.pruneByName.Store(true)
	}
	if err != nil && o.OnPruneFailure != nil {
		o.OnPruneFailure(ns, name, failed, err)
	}
}

// pruneSlack lets the history grow by this many records before one request
// prunes it back to MaxHistory.
const pruneSlack = 5

// attempt is one try of Upgrade: an install, or an upgrade after healing
// a release left pending.
func (r *releaser) attempt(ctx context.Context, cfg *action.Configuration, cache *releaseCache, rd *rendering, p *run.Plan, o run.UpgradeOptions) (*release.Release, error) {
	helmCtx := context.WithoutCancel(ctx)
	ns, name := p.Def.Namespace, p.Def.Name
	if err := checkOwnRelease(cache, ns); err != nil {
		return nil, err
	}
	if o.Store != nil {
		if err := o.Store(); err != nil {
			return nil, err
		}
	}
	last, err := cfg.Releases.Last(name)
	switch {
	case errors.Is(err, driver.ErrReleaseNotFound):
		labels, err := rateLabels(p, nil, o.Clock.Now())
		if err != nil {
			return nil, err
		}
		in := action.NewInstall(cfg)
		in.Labels = labels
		in.ReleaseName, in.Namespace = name, ns
		in.PostRenderer = rd.renderer
		in.Description = "run " + p.Run
		in.DisableOpenAPIValidation = true
		return in.RunWithContext(helmCtx, rd.chart, rd.values)
	case err != nil:
		return nil, fmt.Errorf("read release %s: %w", name, err)
	case last.Info.Status.IsPending():
		if err := heal(ctx, cache, releaseKey(name, last.Version), o); err != nil {
			return nil, err
		}
		// The healed trigger's Job, if it comes at all, is not as of
		// the history: admission reads the runs as of this record.
		cache.secrets.creating = nil
	}
	labels, err := rateLabels(p, last, o.Clock.Now())
	if err != nil {
		return nil, err
	}
	up := action.NewUpgrade(cfg)
	up.Labels = labels
	up.Namespace = ns
	up.PostRenderer = rd.renderer
	up.ResetValues = true
	up.Description = "run " + p.Run
	up.DisableOpenAPIValidation = true
	up.MaxHistory = 0 // pruned by us, in fewer requests (see prune)
	return up.RunWithContext(helmCtx, name, rd.chart, rd.values)
}

// heal marks a pending release record failed once it has been pending for
// stale on the API server's clock (its Secret's creationTimestamp is when
// its trigger began): it was left by a trigger that was killed mid-upgrade.
// The history may come from the API server's cache, so the record is
// re-read consistently, and it is updated only at the resourceVersion read:
// a live trigger that finishes in between wins (Conflict → busy, retry).
func heal(ctx context.Context, cache *releaseCache, key string, o run.UpgradeOptions) error {
	stale := o.StaleAfter
	if stale == 0 {
		stale = DefaultStaleAfter
	}
	if created := cache.createdAt(key); !created.IsZero() && o.Clock.Since(created) < stale {
		return errBusy
	}
	fresh, md, err := cache.getFresh(ctx, key)
	switch {
	case apierrors.IsNotFound(err):
		return errBusy
	case err != nil:
		return fmt.Errorf("read release record %s: %w", key, err)
	case !fresh.Info.Status.IsPending(), o.Clock.Since(md.CreationTimestamp.Time) < stale:
		return errBusy
	}
	fresh.SetStatus(release.StatusFailed, "interrupted trigger, healed by kubectl-shipjob")
	if err := cache.updateIfUnchanged(key, fresh, md.ResourceVersion); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return errBusy
		}
		return fmt.Errorf("heal release record %s left pending: %w", key, err)
	}
	return nil
}

// ownRetry is how often releaseOwn tries while the API server is away.
const ownRetry = 500 * time.Millisecond

// releaseOwn marks failed the record key that this process's trigger
// created and left pending when its Helm upgrade returned with an error
// (the API server went away before Helm could record the outcome). It
// tries every retry for DefaultStaleAfter (after that any trigger heals
// the record anyway), and stops when the record is gone, no longer
// pending (Helm recorded the failure itself), or changed since it read it.
func releaseOwn(secrets corev1client.SecretInterface, name, key string, retry time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultStaleAfter)
	defer cancel()
	for {
		cache := newReleaseCache(secrets, name)
		fresh, md, err := cache.getFresh(ctx, key)
		switch {
		case apierrors.IsNotFound(err):
			return
		case err == nil && !fresh.Info.Status.IsPending():
			return
		case err == nil:
			fresh.SetStatus(release.StatusFailed, "interrupted trigger (the API server went away), released by its own process")
			err = cache.updateIfUnchanged(key, fresh, md.ResourceVersion)
			if err == nil || apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
	}
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
