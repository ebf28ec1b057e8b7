package run_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"github.com/shipjob/kubectl-shipjob/plugin/run/runtest"
)

// prefetching is runtest's Releaser that can prefetch (run.Prefetcher),
// recording when and with what.
type prefetching struct {
	*runtest.Releaser
	requestsBefore func() int
	calls, waited  atomic.Int32
	before         atomic.Int32 // requests made before Prefetch was called
	handed         atomic.Bool  // Upgrade got what Prefetch returned
}

type token struct{ job string }

func (r *prefetching) Prefetch(_ context.Context, ns, job string) (any, func()) {
	r.calls.Add(1)
	r.before.Store(int32(r.requestsBefore()))
	return &token{job: ns + "/" + job}, func() { r.waited.Add(1) }
}

func (r *prefetching) Upgrade(ctx context.Context, p *run.Plan, o run.UpgradeOptions) (run.Upgraded, error) {
	if tk, ok := o.Prefetched.(*token); ok && tk.job == p.Def.Namespace+"/"+p.Def.Name {
		r.handed.Store(true)
	}
	return r.Releaser.Upgrade(ctx, p, o)
}

// TestTriggerPrefetchesTheRelease: a Releaser that can prefetch is asked
// to before the trigger's first request (its read of the release overlaps
// the definition's), its answer reaches Upgrade, and its read is waited
// for before Trigger returns, also when the trigger fails early; a dry
// run and a trigger with an idempotency key (its retries find their run
// without the release) prefetch nothing.
func TestTriggerPrefetchesTheRelease(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobSecret(t, nil))
	rel := &prefetching{Releaser: ft.rel, requestsBefore: func() int { return len(ft.cs.Actions()) }}
	ft.Releaser = rel
	ft.cs.ClearActions()
	if _, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate"}); err != nil {
		t.Fatal(err)
	}
	if rel.calls.Load() != 1 || rel.before.Load() != 0 || !rel.handed.Load() || rel.waited.Load() != 1 {
		t.Errorf("prefetch calls %d after %d requests, handed to Upgrade %v, waited %d; want 1, 0, true, 1",
			rel.calls.Load(), rel.before.Load(), rel.handed.Load(), rel.waited.Load())
	}
	if _, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "nope"}); err == nil {
		t.Fatal("a trigger of a job that does not exist succeeded")
	}
	if rel.calls.Load() != 2 || rel.waited.Load() != 2 {
		t.Errorf("failed trigger: prefetch calls %d, waited %d; want 2, 2", rel.calls.Load(), rel.waited.Load())
	}
	if _, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", DryRun: run.DryRunClient}); err != nil {
		t.Fatal(err)
	}
	if rel.calls.Load() != 2 {
		t.Errorf("a dry run prefetched")
	}
	if _, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", IdempotencyKey: "deploy-42"}); err != nil {
		t.Fatal(err)
	}
	if rel.calls.Load() != 2 {
		t.Errorf("a trigger with an idempotency key prefetched")
	}
}
