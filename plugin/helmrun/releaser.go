package helmrun

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// New is the Engine of cfg (a run.NewEngine): a run.Triggerer whose
// Releaser is Helm's.
func New(cfg run.EngineConfig) run.Engine {
	r := newReleaser(cfg.Client, cfg.Getter)
	return &run.Triggerer{Client: cfg.Client, Releaser: methods{upgrade: r.Upgrade, render: r.Render,
		deleteRecords: r.DeleteRecords, prefetch: r.Prefetch}, LockTimeout: cfg.LockTimeout,
		StaleAfter: cfg.StaleAfter, Clock: cfg.Clock, PruneByName: cfg.PruneByName, OnPruneFailure: cfg.OnPruneFailure}
}

// methods holds the releaser's methods as funcs, not the releaser: a
// *releaser stored in an interface makes the linker keep every method of
// the Helm types it holds (action.Configuration, and through it the OCI
// registry client: about 1.5 MB; BENCHMARKS.md, "Binary size"), as the
// binary also calls methods by name (text/template).
type methods struct {
	upgrade       func(context.Context, *run.Plan, run.UpgradeOptions) (run.Upgraded, error)
	render        func(context.Context, *run.Plan) (string, error)
	deleteRecords func(context.Context, string, string, run.DryRun) error
	prefetch      func(context.Context, string, string) (any, func())
}

var (
	_ run.Releaser   = methods{}
	_ run.Prefetcher = methods{}
)

func (m methods) Prefetch(ctx context.Context, ns, job string) (any, func()) {
	return m.prefetch(ctx, ns, job)
}

func (m methods) Upgrade(ctx context.Context, p *run.Plan, o run.UpgradeOptions) (run.Upgraded, error) {
	return m.upgrade(ctx, p, o)
}

func (m methods) Render(ctx context.Context, p *run.Plan) (string, error) { return m.render(ctx, p) }

func (m methods) DeleteRecords(ctx context.Context, ns, job string, dry run.DryRun) error {
	return m.deleteRecords(ctx, ns, job, dry)
}

// releaser is the run.Releaser over Helm: a job's runs are the revisions
// of a Helm release named like the job, of the embedded run chart, stored
// as Helm's release Secrets.
type releaser struct {
	client kubernetes.Interface
	// getter is the client configuration Helm uses (the kubectl flags).
	getter genericclioptions.RESTClientGetter
	// pruneByName: a DeleteCollection of records was forbidden once.
	pruneByName atomic.Bool
	mu          sync.Mutex
	helm        map[string]*action.Configuration
}

func newReleaser(client kubernetes.Interface, getter genericclioptions.RESTClientGetter) *releaser {
	return &releaser{client: client, getter: getter}
}

// helmConfig returns the (cached) Helm configuration of a namespace.
func (r *releaser) helmConfig(ns string) *action.Configuration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.helm == nil {
		r.helm = map[string]*action.Configuration{}
	}
	if cfg, ok := r.helm[ns]; ok {
		return cfg
	}
	cfg := HelmConfig(NamespacedGetter(r.getter, ns), r.client, ns)
	r.helm[ns] = cfg
	return cfg
}

// Render renders p with a client-only Helm install into memory: nothing
// of the release is read or written.
func (r *releaser) Render(ctx context.Context, p *run.Plan) (string, error) {
	rd, err := newRendering(p)
	if err != nil {
		return "", err
	}
	cfg := &action.Configuration{
		Releases:     storage.Init(driver.NewMemory()),
		KubeClient:   &kubefake.PrintingKubeClient{Out: io.Discard},
		Capabilities: chartutil.DefaultCapabilities,
		Log:          discardLog,
	}
	in := action.NewInstall(cfg)
	in.DryRun, in.ClientOnly, in.Replace = true, true, true
	in.ReleaseName, in.Namespace = p.Def.Name, p.Def.Namespace
	in.PostRenderer = rd.renderer
	rel, err := in.RunWithContext(ctx, rd.chart, rd.values)
	if err != nil {
		return "", fmt.Errorf("render run of job %s: %w", p.Def.Name, err)
	}
	return rel.Manifest, nil
}

// DeleteRecords deletes the job's records of the run chart by name
// (deleteReleaseRecords).
func (r *releaser) DeleteRecords(ctx context.Context, ns, job string, dry run.DryRun) error {
	return deleteReleaseRecords(ctx, r.client, ns, job, dry)
}
