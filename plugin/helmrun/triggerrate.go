package helmrun

import (
	"strconv"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/run"

	"helm.sh/helm/v3/pkg/release"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// labelRateTAT, on a job's Helm release records, holds the state of its
// trigger rate (maxRunsPerMinute): the "theoretical arrival time" of the
// generic cell rate algorithm, in Unix milliseconds on the API server's
// clock. Each admitted trigger writes it on the release record it creates;
// as only one trigger can create each revision (an atomic Create), every
// CLI and hook replica shares one exact rate, with no state of its own.
const labelRateTAT = jobdef.Group + "/rate-tat"

// rateWindow is the period of maxRunsPerMinute, and the burst it allows.
const rateWindow = time.Minute

// rateLabels decides a trigger of job by its rate limit (perMinute; 0: none)
// from the job's last release record (nil: none), at now on the API
// server's clock: the labels for the new record, or a *run.RateLimitedError.
// The last record may be stale (read from the watch cache): its state only
// grows, so a refusal holds, and an admission is checked by the Create of
// the next revision (a newer record makes it fail, and the trigger retries).
func rateLabels(job string, perMinute int, last *release.Release, now time.Time) (map[string]string, error) {
	if perMinute <= 0 {
		return nil, nil
	}
	interval := rateWindow / time.Duration(perMinute)
	tat := now
	if last != nil {
		// A record is input: an unreadable state counts as none, a state
		// further ahead than one window cannot lock the job out longer.
		if ms, err := strconv.ParseInt(last.Labels[labelRateTAT], 10, 64); err == nil {
			tat = time.UnixMilli(ms)
		}
		if limit := now.Add(rateWindow); tat.After(limit) {
			tat = limit
		}
	}
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(interval)
	if over := next.Sub(now) - rateWindow; over > 0 {
		return nil, &run.RateLimitedError{Job: job, PerMinute: perMinute, RetryAfter: over}
	}
	return map[string]string{labelRateTAT: strconv.FormatInt(next.UnixMilli(), 10)}, nil
}
