package hook

import (
	"strings"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// TestHookJobTriggerRateIs429: a trigger refused by the job's
// maxRunsPerMinute (shared by every replica) is a 429 with Retry-After in
// whole seconds, rounded up, and the message saying when to retry.
func TestHookJobTriggerRateIs429(t *testing.T) {
	f := newFixture(t, nil)
	f.trig.err = &run.RateLimitedError{Job: "migrate", PerMinute: 3, RetryAfter: 2100 * time.Millisecond}
	a := f.post(t, f.token, `{}`)
	if a.code != 429 || a.header.Get("Retry-After") != "3" ||
		!strings.Contains(a.body, "job migrate is limited to 3 runs per minute (maxRunsPerMinute): retry in 3s") {
		t.Fatalf("%d Retry-After %q %s", a.code, a.header.Get("Retry-After"), a.body)
	}
}
