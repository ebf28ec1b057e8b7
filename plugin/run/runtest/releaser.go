// Package runtest has a run.Releaser for tests of the run domain: release
// records in memory, and runs' Jobs made from their Plan (as the run chart
// would, well enough for the domain's tests) in a fake clientset, as
// Helm's kube/fake is for Helm's actions.
package runtest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// RunChart is the chart of the records Upgrade writes.
const RunChart = "shipjob-run"

// Record is one revision of a job's release.
type Record struct {
	Run   string
	Chart string
	// Rate is the rate state run.Plan.NextRate gave ("": none).
	Rate string
	// Failed: its run was refused (Admit) or not created.
	Failed bool
}

// Releaser is a run.Releaser in memory. Its Upgrades of one job are
// serialized (as Helm's release records serialize them across processes),
// also between Triggerers that share it.
type Releaser struct {
	// Client is where runs' Jobs are created (a fake clientset).
	Client kubernetes.Interface
	// CreateDelay is how long creating a run's Job takes (an API server,
	// an admission webhook...).
	CreateDelay time.Duration
	// Creates counts the Jobs created.
	Creates atomic.Int32

	mu      sync.Mutex
	records map[string][]Record // namespace/job -> revisions, oldest first
}

var _ run.Releaser = (*Releaser)(nil)

// New is a Releaser creating Jobs in client.
func New(client kubernetes.Interface) *Releaser { return &Releaser{Client: client} }

// Records are the revisions of job's release, oldest first.
func (r *Releaser) Records(ns, job string) []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Record(nil), r.records[ns+"/"+job]...)
}

// AddRecord adds a revision to job's release (another chart's: a foreign
// release).
func (r *Releaser) AddRecord(ns, job string, rec Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.records == nil {
		r.records = map[string][]Record{}
	}
	r.records[ns+"/"+job] = append(r.records[ns+"/"+job], rec)
}

// Upgrade records p and creates its Job, admitting it first.
func (r *Releaser) Upgrade(ctx context.Context, p *run.Plan, o run.UpgradeOptions) (run.Upgraded, error) {
	ns, job := p.Def.Namespace, p.Def.Name
	if err := ctx.Err(); err != nil {
		return run.Upgraded{}, fmt.Errorf("job %s: waiting for its release: %w", job, err)
	}
	if err := r.CheckRelease(ctx, ns, job); err != nil {
		return run.Upgraded{}, err
	}
	if o.Store != nil {
		if err := o.Store(); err != nil {
			return run.Upgraded{}, err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	last := ""
	if recs := r.records[ns+"/"+job]; len(recs) > 0 {
		last = recs[len(recs)-1].Rate
	}
	rate, err := p.NextRate(last, o.Clock.Now())
	if err != nil {
		return run.Upgraded{}, err
	}
	manifest, err := r.render(p)
	if err != nil {
		return run.Upgraded{}, err
	}
	if r.records == nil {
		r.records = map[string][]Record{}
	}
	rec := Record{Run: p.Run, Chart: RunChart, Rate: rate, Failed: true}
	defer func() { r.records[ns+"/"+job] = append(r.records[ns+"/"+job], rec) }()
	if o.Admit != nil {
		// The record's resourceVersion: its revision, in a space of its own.
		if err := o.Admit(fmt.Sprint(1000 + len(r.records[ns+"/"+job]))); err != nil {
			return run.Upgraded{}, err
		}
	}
	time.Sleep(r.CreateDelay)
	j := Job(p)
	j.UID = types.UID("uid-" + j.Name)
	if _, err := r.Client.BatchV1().Jobs(ns).Create(context.WithoutCancel(ctx), j, metav1.CreateOptions{}); err != nil {
		return run.Upgraded{}, fmt.Errorf("create run %s: %w", p.Run, err)
	}
	r.Creates.Add(1)
	rec.Failed = false
	return run.Upgraded{Created: true, JobUID: j.UID, Manifest: manifest}, nil
}

// Render is the plan's Job as YAML, checked against the plan.
func (r *Releaser) Render(_ context.Context, p *run.Plan) (string, error) {
	return r.render(p)
}

func (r *Releaser) render(p *run.Plan) (string, error) {
	data, err := yaml.Marshal(Job(p))
	if err != nil {
		return "", err
	}
	if err := p.CheckManifest(data); err != nil {
		return "", &run.RenderError{Err: err}
	}
	return "---\n# Source: shipjob-run/templates/job.yaml\n" + string(data), nil
}

// CheckRelease refuses a release with a record of another chart.
func (r *Releaser) CheckRelease(_ context.Context, ns, job string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.records[ns+"/"+job] {
		if rec.Chart != RunChart {
			return &run.ForeignReleaseError{Namespace: ns, Release: job, Chart: rec.Chart, Want: RunChart}
		}
	}
	return nil
}

// DeleteRecords forgets the records of job (of the run chart only).
func (r *Releaser) DeleteRecords(_ context.Context, ns, job string, dry run.DryRun) error {
	if dry != run.DryRunNone {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var kept []Record
	for _, rec := range r.records[ns+"/"+job] {
		if rec.Chart != RunChart {
			kept = append(kept, rec)
		}
	}
	r.records[ns+"/"+job] = kept
	return nil
}
