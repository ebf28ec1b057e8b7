package run

import (
	"fmt"
	"math"
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
