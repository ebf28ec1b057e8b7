package helmrun

import (
	"time"

	"helm.sh/helm/v3/pkg/release"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// labelRateTAT, on a job's Helm release records, holds the state of its
// trigger rate (maxRunsPerMinute, decided by run.Plan.NextRate): the
// "theoretical arrival time" of the generic cell rate algorithm, in Unix
// milliseconds on the API server's clock. Each admitted trigger writes it
// on the release record it creates.
const labelRateTAT = jobdef.Group + "/rate-tat"

// rateLabels decides a trigger of p by its job's rate limit from the job's
// last release record (nil: none), at now on the API server's clock: the
// labels for the new record, or a *run.RateLimitedError.
func rateLabels(p *run.Plan, last *release.Release, now time.Time) (map[string]string, error) {
	state := ""
	if last != nil {
		state = last.Labels[labelRateTAT]
	}
	next, err := p.NextRate(state, now)
	if err != nil || next == "" {
		return nil, err
	}
	return map[string]string{labelRateTAT: next}, nil
}
