package run

import (
	"context"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// What the external tests (package run_test, which may import runtest)
// reach of this package's insides.
var (
	FilesSecret        = filesSecret
	ParamsSecret       = paramsSecret
	IdempotencyLabel   = idempotencyLabel
	DecodeMetadataList = decodeMetadataList
)

const SweepEvery = sweepEvery

func (t *Triggerer) SweepOrphanFiles(ctx context.Context, ns, job string) {
	t.sweepOrphanFiles(ctx, ns, job)
}

// RatePlan is a plan of job limited to perMinute runs a minute.
func RatePlan(job string, perMinute int) *Plan {
	return &Plan{Def: jobdef.New("ns", job), perMinute: perMinute}
}
