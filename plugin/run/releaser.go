package run

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Releaser records runs in the job's release and renders them: the one
// port through which a trigger reaches Helm (plugin/helmrun implements it
// over the embedded run chart; run/runtest has a fake). Everything else a
// trigger does (the definition, parameters, admission, the run's Secrets,
// idempotency, ownership) is Triggerer's.
type Releaser interface {
	// Upgrade renders p, checks it (p.CheckManifest) and records it as the
	// next revision of the release named like the job, creating its Job.
	// It calls o.Store once it has read the release and found it the run
	// chart's, before it writes anything; then o.Admit once it holds the release (its pending record is
	// written) and before the Job is created, and p.NextRate with the rate
	// state of the last record. It heals a release left pending by a killed
	// trigger, retries while another trigger holds the release (until ctx
	// ends), and prunes old records afterwards. Errors of Admit and a
	// *RateLimitedError come back unwrapped; a release of another chart is
	// a *ForeignReleaseError. Upgraded.Created tells whether the Job was
	// created, which it may be also with an error (the record then failed).
	Upgrade(ctx context.Context, p *Plan, o UpgradeOptions) (Upgraded, error)
	// Render returns the post-rendered, checked manifest of p's Job
	// without touching the release (a dry run).
	Render(ctx context.Context, p *Plan) (string, error)
	// DeleteRecords deletes the release records of job that are the run
	// chart's, by name (never an uninstall). DryRunClient deletes nothing.
	DeleteRecords(ctx context.Context, ns, job string, dry DryRun) error
}

// Prefetcher is a Releaser that can start reading a job's release before
// the trigger has read and checked the job's definition: the two reads
// overlap (one round trip less per trigger). Prefetch returns what to hand
// Upgrade (UpgradeOptions.Prefetched) and a wait for its read to end.
type Prefetcher interface {
	Prefetch(ctx context.Context, ns, job string) (prefetched any, wait func())
}

// UpgradeOptions are what a Releaser needs of the trigger while it holds
// the job's release.
type UpgradeOptions struct {
	// Prefetched is what the Releaser's Prefetch returned for this
	// trigger (nil: nothing).
	Prefetched any
	// Store writes the run's Secrets (nil: none). It is called once per
	// Upgrade, after the release's history is read and checked to be the
	// run chart's (a *ForeignReleaseError writes nothing) and before its
	// record is written, so a trigger reads the history once. Its error
	// comes back unwrapped, with nothing of the release written.
	Store func() error
	// Admit decides on the run (concurrency rules, idempotency), given the
	// resourceVersion of this trigger's release record; nil: admitted.
	Admit func(recordRV string) error
	// Speculate, if set, may be called once per attempt, as the Releaser
	// writes the record that takes the release (before it knows whether
	// it does), with the resourceVersion of the history it read: one at
	// which every Job of the revisions in that history exists already.
	// Admission then reads the job's runs as of it, while the record is
	// written, instead of after (one round trip less per trigger); the
	// next revision is a Create, so no other trigger's Job can come
	// between the history read and the record. It returns what the
	// attempt calls instead of Admit. A Releaser does not call it after
	// healing a release left pending (that trigger's Job may come late).
	Speculate func(historyRV string) (admit func(recordRV string) error)
	// StaleAfter is how long a record may stay pending before it counts
	// as left by a killed trigger (0: the Releaser's default).
	StaleAfter time.Duration
	// Clock is the API server's clock (nil: the local one).
	Clock *ServerClock
	// PruneByName prunes old records one Delete each, never with a
	// DeleteCollection.
	PruneByName bool
	// OnPruneFailure, if set, is told when old records could not be
	// deleted.
	OnPruneFailure func(namespace, job string, failed int, err error)
}

// Upgraded is what an Upgrade did.
type Upgraded struct {
	// Created: the run's Job was created.
	Created bool
	// JobUID is the created Job's UID ("": unknown, read it back).
	JobUID types.UID
	// Manifest is the applied manifest (the release's, else the last one
	// rendered).
	Manifest string
}
