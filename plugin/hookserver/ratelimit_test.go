package hookserver

import (
	"log/slog"
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

// TestHookLogsTriggerWarnings: what a trigger could not do after its run
// exists (finished runs it could not prune) is in the request's log line.
func TestHookLogsTriggerWarnings(t *testing.T) {
	var logs syncBuffer
	f := newFixture(t, func(c *ServerConfig) { c.Log = slog.New(slog.NewJSONHandler(&logs, nil)) })
	f.trig.warnings = []string{"job migrate: 1 of 1 finished runs beyond its history limits could not be deleted"}
	if a := f.post(t, f.token, `{}`); a.code != 201 {
		t.Fatalf("%d %s", a.code, a.body)
	}
	if !strings.Contains(logs.String(), `"warnings":"job migrate: 1 of 1 finished runs beyond its history limits could not be deleted"`) {
		t.Errorf("log: %s", logs.String())
	}
}
