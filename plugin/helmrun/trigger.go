package helmrun

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/run"

	"helm.sh/helm/v3/pkg/action"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// Triggerer triggers runs: `kubectl shipjob run` and the hook server share
// it. It is safe for concurrent use. Triggers of one job are serialized in a
// process by a semaphore and across processes by Helm's release records
// (creating a revision is atomic; a busy release is retried, never shown to
// the user), and a release left pending by a killed trigger is healed.
type Triggerer struct {
	Client kubernetes.Interface
	// Getter is the client configuration Helm uses (the kubectl flags).
	Getter genericclioptions.RESTClientGetter
	// LockTimeout bounds the wait for other triggers of the same job
	// (default 2 minutes). Once a trigger has started its upgrade it is
	// not interrupted (see upgrade).
	LockTimeout time.Duration
	// StaleAfter is how long a release may stay pending before a trigger
	// treats it as left by a killed trigger and heals it (default 20s, or
	// SHIPJOB_STALE_AFTER: see StaleAfterFromEnv; our upgrades never wait
	// for resources, so a live one takes about a second). Measured on the
	// API server's clock.
	StaleAfter time.Duration
	// Clock is the API server's clock (nil: the local one). Its Wrap must
	// be on the transport of Client for it to know the server's time.
	Clock *run.ServerClock
	// PruneByName prunes Helm history with one Delete per record (the
	// verb "delete") instead of one DeleteCollection ("deletecollection"),
	// which is also the fallback once a DeleteCollection was forbidden.
	// The hook server sets it: its chart's Role grants delete only.
	PruneByName bool
	// OnPruneFailure, if set, is told when old release records could not
	// be deleted (the history then grows until a later trigger can).
	OnPruneFailure func(namespace, job string, failed int, err error)

	local       sync.Map // namespace/job -> chan struct{}: one trigger per job per process
	swept       sync.Map // namespace/job -> time.Time of the last orphan sweep
	pruneByName atomic.Bool
	mu          sync.Mutex
	helm        map[string]*action.Configuration
}

// Trigger starts a run of req.Job as it is defined now. Errors: a
// NotFound API error (no such job), *ReplacedError (not the job of
// req.JobUID), *jobdef.InvalidError (its stored
// definition does not pass validation), *run.ForeignReleaseError (the
// release of its name is of another chart), *InputError (a parameter or tag),
// *RenderError (a bug); nothing is written then. Once the run's Job exists
// Trigger succeeds, with Warnings for what failed after it.
func (t *Triggerer) Trigger(ctx context.Context, req run.Request) (*run.Result, error) {
	store := &jobdef.Store{Client: t.Client, Namespace: req.Namespace}
	def, err := store.Get(ctx, req.Job)
	if err != nil {
		return nil, err
	}
	if req.JobUID != "" && def.UID != req.JobUID {
		return nil, &run.ReplacedError{Job: req.Job, Known: req.JobUID, Now: def.UID}
	}
	if err := def.CheckStored(); err != nil {
		return nil, err
	}
	params, err := run.Parameters(def, req.Params)
	if err != nil {
		return nil, &run.InputError{Err: err}
	}
	if err := checkTag(def, req.Tag); err != nil {
		return nil, &run.InputError{Err: err}
	}
	if err := def.Spec.CheckRunSize(params); err != nil {
		return nil, &run.InputError{Err: err}
	}
	if req.IdempotencyKey != "" {
		if err := run.ValidateIdempotencyKey(req.IdempotencyKey); err != nil {
			return nil, &run.InputError{Err: err}
		}
	}
	tasks := def.Spec.Tasks
	if req.Tasks != 0 {
		if req.Tasks < 1 || req.Tasks > jobdef.MaxTasks {
			return nil, &run.InputError{Err: fmt.Errorf("invalid tasks %d: must be between 1 and %d", req.Tasks, jobdef.MaxTasks)}
		}
		if err := jobdef.CheckTaskPods(req.Tasks, def.Spec.Parallelism); err != nil {
			return nil, &run.InputError{Err: err}
		}
		tasks = req.Tasks
	}
	img, err := store.ResolveImage(ctx, def, req.Tag)
	if err != nil {
		return nil, err
	}
	res := &run.Result{Namespace: req.Namespace, Job: def.Name, Image: img.Image, Parameters: run.Shown(def, params)}
	var keyed *keyedRun
	if req.IdempotencyKey != "" {
		// A retry finds its run at once, without touching the release; two
		// triggers racing with one key are decided under the release.
		keyed = &keyedRun{key: req.IdempotencyKey, image: img.Image, params: res.Parameters, secrets: run.SecretValues(def, params)}
		if done, err := keyedResult(res, run.FindKeyed(ctx, t.Client, req.Namespace, def.Name, keyed.key, keyed.params, keyed.secrets, img.Image, "")); done {
			if err != nil {
				return nil, err
			}
			return res, nil
		}
	}
	if req.DryRun != run.DryRunNone {
		plan, err := newPlan(def, img, params, req.TriggeredBy, time.Now(), tasks)
		if err != nil {
			return nil, err
		}
		plan.setIdempotencyKey(req.IdempotencyKey)
		plan.setRerunOf(req.RerunOf)
		res.Run = plan.run
		res.Manifest, err = t.dryRun(ctx, req, def, plan)
		return res, err
	}

	deadline := t.LockTimeout
	if deadline == 0 {
		deadline = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	// One trigger per job at a time in this process; across processes Helm's
	// own release records are the lock (see upgrade).
	sem, _ := t.local.LoadOrStore(req.Namespace+"/"+def.Name, make(chan struct{}, 1))
	if err := lockCtx(ctx, sem.(chan struct{})); err != nil {
		return nil, err
	}
	defer func() { <-sem.(chan struct{}) }()
	plan, err := newPlan(def, img, params, req.TriggeredBy, time.Now(), tasks)
	if err != nil {
		return nil, err
	}
	plan.setIdempotencyKey(req.IdempotencyKey)
	plan.setRerunOf(req.RerunOf)
	res.Run = plan.run
	plan.perMinute = def.Spec.RunsPerMinute()
	base := t.helmConfig(req.Namespace)
	secrets := t.Client.CoreV1().Secrets(req.Namespace)
	var createdFiles *corev1.Secret
	if plan.files != nil || plan.params != nil {
		// The release is checked before anything is written (upgrade
		// checks it again while it holds the release).
		if err := checkOwnRelease(newReleaseCache(secrets, def.Name), req.Namespace); err != nil {
			return nil, err
		}
		t.sweepOrphanFiles(ctx, req.Namespace, def.Name)
	}
	if plan.files != nil {
		if createdFiles, err = t.storeFiles(ctx, req.Namespace, plan.files); err != nil {
			return nil, err
		}
	}
	if plan.params != nil {
		if _, err := secrets.Create(ctx, plan.params, metav1.CreateOptions{FieldManager: jobdef.ManagedBy}); err != nil {
			t.dropFiles(ctx, req.Namespace, createdFiles)
			return nil, fmt.Errorf("store secret parameters of run %s: %w", plan.run, err)
		}
	}
	// Decided while this trigger holds the job's release (see runKube),
	// on a context that does not end there; so is the pruning of finished
	// runs beyond the history limits, which only warns.
	var pruneWarning string
	plan.admit = func(recordRV string) error {
		actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer acancel()
		return admitRun(actx, t.Client, def, plan.run, recordRV, keyed, &pruneWarning)
	}
	rel, kc, err := t.upgrade(ctx, base, req.Namespace, def.Name, plan)
	job := kc.job(plan.run)
	if err != nil && job == nil {
		// No Job was created: nothing of this run may stay behind.
		if plan.params != nil {
			_ = secrets.Delete(context.WithoutCancel(ctx), plan.params.Name, metav1.DeleteOptions{})
		}
		t.dropFiles(ctx, req.Namespace, createdFiles)
		if run.IsForeignRelease(err) {
			return nil, err
		}
		if kc != nil && kc.refused != nil {
			if done, err := keyedResult(res, kc.refused); done && err == nil {
				return res, nil
			}
			return nil, kc.refused
		}
		return nil, fmt.Errorf("trigger job %s: %w", def.Name, err)
	}
	if err != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("run %s was created, but its Helm release record was not updated: %v", plan.run, err))
	}
	if pruneWarning != "" {
		res.Warnings = append(res.Warnings, pruneWarning)
	}
	res.Manifest = plan.rendered
	if rel != nil {
		res.Manifest = rel.Manifest
	}
	if plan.files != nil || plan.params != nil {
		// The run exists whatever happens now: its Secrets are handed to it
		// (its files Secret made again if it went meanwhile) even if the
		// caller's deadline has passed.
		octx, ocancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer ocancel()
		if err := t.ownSecrets(octx, req.Namespace, plan, job); err != nil {
			res.Warnings = append(res.Warnings, err.Error()+" (the garbage collector will not remove them with the run)")
		}
	}
	return res, nil
}

// keyedResult turns the outcome of an idempotency check into the
// trigger's answer: done when a run exists (res then names it) or the key
// conflicts (the error).
func keyedResult(res *run.Result, err error) (done bool, _ error) {
	var existing *run.ExistingRunError
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &existing):
		res.Run, res.Unchanged, res.Manifest = existing.Run, true, existing.Manifest
		return true, nil
	}
	return true, err
}

// checkTag refuses a per-run tag that is malformed, or that would un-pin a
// job pinned to a digest (unless the job allows it).
func checkTag(def *jobdef.Job, tag string) error {
	if tag == "" {
		return nil
	}
	if err := jobdef.ValidateTag(tag); err != nil {
		return err
	}
	if def.Spec.Digest != "" && !def.Spec.AllowTagOverride {
		return fmt.Errorf("job %s is pinned to digest %s: its runs cannot choose a tag (set allowTagOverride in its definition to allow it)", def.Name, def.Spec.Digest)
	}
	return nil
}

// helmConfig returns the (cached) Helm configuration of a namespace.
func (t *Triggerer) helmConfig(ns string) *action.Configuration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.helm == nil {
		t.helm = map[string]*action.Configuration{}
	}
	if cfg, ok := t.helm[ns]; ok {
		return cfg
	}
	cfg := HelmConfig(NamespacedGetter(t.Getter, ns), t.Client, ns)
	t.helm[ns] = cfg
	return cfg
}

// New is the Engine of cfg (a run.NewEngine): a Triggerer.
func New(cfg run.EngineConfig) run.Engine {
	t := &Triggerer{Client: cfg.Client, Getter: cfg.Getter, LockTimeout: cfg.LockTimeout, StaleAfter: cfg.StaleAfter,
		Clock: cfg.Clock, PruneByName: cfg.PruneByName, OnPruneFailure: cfg.OnPruneFailure}
	return methods{trigger: t.Trigger, deleteJob: t.DeleteJob}
}

// methods holds the Triggerer's methods as funcs, not the Triggerer: a
// *Triggerer stored in an interface makes the linker keep every method of
// the Helm types it holds (the OCI registry client among them, 0.5 MB;
// BENCHMARKS.md, "Binary size"), as the binary also calls methods by name
// (text/template).
type methods struct {
	trigger   func(context.Context, run.Request) (*run.Result, error)
	deleteJob func(context.Context, string, string, run.DeleteJobOptions) (run.DeleteJobResult, error)
}

func (e methods) Trigger(ctx context.Context, req run.Request) (*run.Result, error) {
	return e.trigger(ctx, req)
}

func (e methods) DeleteJob(ctx context.Context, ns, name string, opts run.DeleteJobOptions) (run.DeleteJobResult, error) {
	return e.deleteJob(ctx, ns, name, opts)
}

// DeleteJob deletes job name (see the package function DeleteJob).
func (t *Triggerer) DeleteJob(ctx context.Context, ns, name string, opts run.DeleteJobOptions) (run.DeleteJobResult, error) {
	return DeleteJob(ctx, t.Client, ns, name, opts)
}
