package run

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// RateLimitedError is a trigger refused by the job's maxRunsPerMinute,
// which every CLI and hook replica shares: the CLI exits 1 with its
// message, the hook server answers 429 with Retry-After. Nothing was
// written.
type RateLimitedError struct {
	Job       string
	PerMinute int
	// RetryAfter is how long until a trigger is allowed again.
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("job %s is limited to %d runs per minute (maxRunsPerMinute): retry in %ds", e.Job, e.PerMinute, e.RetrySeconds())
}

// RetrySeconds is RetryAfter in whole seconds, rounded up (at least 1).
func (e *RateLimitedError) RetrySeconds() int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// rateWindow is the period of maxRunsPerMinute, and the burst it allows.
const rateWindow = time.Minute

// NextRate decides a trigger by the job's maxRunsPerMinute, the generic
// cell rate algorithm: last is the state of the job's last release record
// (its "theoretical arrival time" in Unix milliseconds on the API server's
// clock; "": none), now the API server's time. It returns the state for
// the new record ("" when the job has no limit), or a *RateLimitedError.
// As only one trigger can create each revision (an atomic Create), every
// CLI and hook replica shares one exact rate, with no state of its own.
// The last record may be stale (read from the watch cache): its state only
// grows, so a refusal holds, and an admission is checked by the Create of
// the next revision (a newer record makes it fail, and the trigger retries).
func (p *Plan) NextRate(last string, now time.Time) (string, error) {
	if p.perMinute <= 0 {
		return "", nil
	}
	interval := rateWindow / time.Duration(p.perMinute)
	tat := now
	// A record is input: an unreadable state counts as none, a state
	// further ahead than one window cannot lock the job out longer.
	if ms, err := strconv.ParseInt(last, 10, 64); err == nil {
		tat = time.UnixMilli(ms)
	}
	if limit := now.Add(rateWindow); tat.After(limit) {
		tat = limit
	}
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(interval)
	// Every process estimates the API server's clock from Date headers
	// (whole seconds: see ServerClock), so two of them may disagree by up
	// to a second: a trigger at the burst's edge is admitted within that
	// slack, never more than half an interval, so no window holds more
	// than perMinute runs.
	slack := min(time.Second, interval/2)
	if over := next.Sub(now) - rateWindow; over > slack {
		return "", &RateLimitedError{Job: p.Def.Name, PerMinute: p.perMinute, RetryAfter: over - slack}
	}
	return strconv.FormatInt(next.UnixMilli(), 10), nil
}
