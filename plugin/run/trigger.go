package run

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/charts"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/postrender"
)

// MaxHistory bounds the Helm release Secrets a job keeps: runs are read
// from their Jobs, so a job triggered 10,000 times keeps only these.
const MaxHistory = 3

// DryRun modes of a trigger.
type DryRun string

// Dry-run modes: none, render only, or render and validate with the API server.
const (
	DryRunNone   DryRun = ""
	DryRunClient DryRun = "client"
	DryRunServer DryRun = "server"
)

// Request is one trigger.
type Request struct {
	Namespace string
	Job       string
	// Params override the job's default parameters.
	Params map[string]string
	// Tag overrides the image tag for this run only.
	Tag string
	// TriggeredBy is recorded on the run: "user:<name>" or "hook:<name>".
	TriggeredBy string
	DryRun      DryRun
}

// Result describes the run that was (or would be) created.
type Result struct {
	Run        string
	Namespace  string
	Job        string
	Image      string
	Parameters map[string]string
	// Manifest is the post-rendered Job (and files Secret) as YAML.
	Manifest string
}

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
	// (default 2 minutes).
	LockTimeout time.Duration
	// StaleAfter is how long a release may stay pending before a trigger
	// treats it as left by a killed trigger and heals it (default 20s; our
	// upgrades never wait for resources, so a live one takes about a second).
	StaleAfter time.Duration

	once  sync.Once
	local sync.Map // namespace/job -> chan struct{}: one trigger per job per process
	mu    sync.Mutex
	helm  map[string]*action.Configuration
}

// Trigger starts a run of req.Job as it is defined now.
func (t *Triggerer) Trigger(ctx context.Context, req Request) (*Result, error) {
	t.once.Do(func() { t.helm = map[string]*action.Configuration{} })
	store := &jobdef.Store{Client: t.Client, Namespace: req.Namespace}
	def, err := store.Get(ctx, req.Job)
	if err != nil {
		return nil, err
	}
	params, err := Parameters(def, req.Params)
	if err != nil {
		return nil, err
	}
	if req.Tag != "" {
		if err := jobdef.ValidateTag(req.Tag); err != nil {
			return nil, err
		}
	}
	img, err := store.ResolveImage(ctx, def, req.Tag)
	if err != nil {
		return nil, err
	}
	res := &Result{Namespace: req.Namespace, Job: def.Name, Image: img.Image, Parameters: params}
	if req.DryRun != DryRunNone {
		plan, err := newPlan(def, img, params, req.TriggeredBy, time.Now())
		if err != nil {
			return nil, err
		}
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
	plan, err := newPlan(def, img, params, req.TriggeredBy, time.Now())
	if err != nil {
		return nil, err
	}
	res.Run = plan.run
	base := t.helmConfig(req.Namespace)
	secrets := t.Client.CoreV1().Secrets(req.Namespace)
	if plan.files != nil {
		t.sweepOrphanFiles(ctx, req.Namespace, def.Name)
		if _, err := secrets.Create(ctx, plan.files, metav1.CreateOptions{FieldManager: jobdef.ManagedBy}); err != nil {
			return nil, fmt.Errorf("store files of run %s: %w", plan.run, err)
		}
	}
	rel, kc, err := t.upgrade(ctx, base, req.Namespace, def.Name, plan)
	if err != nil {
		if plan.files != nil {
			_ = secrets.Delete(context.WithoutCancel(ctx), plan.files.Name, metav1.DeleteOptions{})
		}
		return nil, fmt.Errorf("trigger job %s: %w", def.Name, err)
	}
	res.Manifest = rel.Manifest
	if plan.files != nil {
		if err := t.ownFiles(ctx, req.Namespace, plan, kc); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// plan is everything a trigger renders, computed before any write.
type plan struct {
	run      string
	chart    *chart.Chart
	values   map[string]any
	renderer postrender.Renderer
	files    *corev1.Secret
}

func newPlan(def *jobdef.Job, img jobdef.ResolvedImage, params map[string]string, by string, now time.Time) (*plan, error) {
	p := &plan{run: NewName(def.Name, now)}
	var err error
	if p.chart, err = charts.Run(); err != nil {
		return nil, err
	}
	ttl, keep, err := jobdef.ParseDuration("retention", def.Spec.Retention)
	if err != nil {
		return nil, err
	}
	opts := postrender.Options{Keep: true, Override: true}
	if keep {
		opts.TTL = &ttl
	}
	p.renderer = postrender.Renderer{Options: opts}
	paramJSON, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("encode parameters: %w", err)
	}
	ann := map[string]string{
		AnnotationTriggeredBy: by,
		AnnotationTriggeredAt: now.UTC().Format(time.RFC3339Nano),
		AnnotationParameters:  string(paramJSON),
		AnnotationImage:       img.Image,
		AnnotationJobUID:      string(def.UID),
	}
	if def.Spec.Timeout != jobdef.None {
		ann[AnnotationTimeout] = def.Spec.Timeout
	}
	filesName := ""
	if len(def.Spec.Files) > 0 {
		filesName = p.run + "-files"
		p.files = filesSecret(def, p.run, filesName)
	}
	p.values, err = chartValues(def, p.run, img, params, filesName, ann)
	return p, err
}

// filesSecret copies the job's files for one run, so later edits of the
// job don't change it. After the Job exists it becomes the Secret's owner
// and the garbage collector removes the files with the run.
func filesSecret(def *jobdef.Job, run, name string) *corev1.Secret {
	data := map[string][]byte{}
	for i, f := range def.Spec.Files {
		data[fileKey(i)] = f.Bytes()
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: def.Namespace, Labels: map[string]string{
			jobdef.LabelManagedBy: jobdef.ManagedBy, LabelKind: KindRunFiles, LabelJob: def.Name, LabelRun: run}},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
}

func (t *Triggerer) ownFiles(ctx context.Context, ns string, p *plan, kc *runKube) error {
	var uid types.UID
	for _, info := range kc.created {
		if info.Mapping != nil && info.Mapping.GroupVersionKind.Kind == "Job" && info.Name == p.run {
			if m, err := meta.Accessor(info.Object); err == nil {
				uid = m.GetUID()
			}
		}
	}
	if uid == "" {
		job, err := t.Client.BatchV1().Jobs(ns).Get(ctx, p.run, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("read run %s: %w", p.run, err)
		}
		uid = job.UID
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": []metav1.OwnerReference{{
		APIVersion: "batch/v1", Kind: "Job", Name: p.run, UID: uid, BlockOwnerDeletion: ptrTo(true),
	}}}})
	if err != nil {
		return err
	}
	if _, err := t.Client.CoreV1().Secrets(ns).Patch(ctx, p.files.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("hand the files of run %s to its Job: %w", p.run, err)
	}
	return nil
}

// orphanAge is how old a files Secret without owner must be to count as
// left behind by a killed trigger.
const orphanAge = 2 * time.Minute

// sweepOrphanFiles deletes files Secrets of job that a killed trigger
// created but never handed to a Job. Best effort.
func (t *Triggerer) sweepOrphanFiles(ctx context.Context, ns, job string) {
	list, err := t.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{
		LabelSelector: LabelKind + "=" + KindRunFiles + "," + LabelJob + "=" + job})
	if err != nil {
		return
	}
	for _, s := range list.Items {
		if len(s.OwnerReferences) == 0 && time.Since(s.CreationTimestamp.Time) > orphanAge {
			_ = t.Client.CoreV1().Secrets(ns).Delete(ctx, s.Name, metav1.DeleteOptions{})
		}
	}
}

// helmConfig returns the (cached) Helm configuration of a namespace.
func (t *Triggerer) helmConfig(ns string) *action.Configuration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cfg, ok := t.helm[ns]; ok {
		return cfg
	}
	cfg := HelmConfig(NamespacedGetter(t.Getter, ns), t.Client, ns)
	t.helm[ns] = cfg
	return cfg
}
