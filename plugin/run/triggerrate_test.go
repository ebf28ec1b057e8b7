package run_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// TestTriggerRateIsSharedAcrossProcesses: maxRunsPerMinute 3 admits three
// triggers, then refuses the fourth with a RateLimitedError saying when to
// retry, also from another process (a second Triggerer on the same API
// server), and writes nothing for it.
func TestTriggerRateIsSharedAcrossProcesses(t *testing.T) {
	three := int32(3)
	ft := newFakeTrigger(t, 0, jobSecret(t, func(j *jobdef.Job) { j.Spec.Files, j.Spec.MaxRunsPerMinute = nil, &three }))
	for i := range 3 {
		if _, err := trigger(t, ft); err != nil {
			t.Fatalf("trigger %d: %v", i, err)
		}
	}
	records := func() int { return len(ft.rel.Records("ns", "migrate")) }
	before := records()
	other := &fakeTrigger{cs: ft.cs, rel: ft.rel, Triggerer: &run.Triggerer{Client: ft.cs, Releaser: ft.rel}}
	for _, tr := range []*fakeTrigger{ft, other} {
		_, err := trigger(t, tr)
		var limited *run.RateLimitedError
		if !errors.As(err, &limited) || limited.RetryAfter <= 0 || limited.RetryAfter > 20*time.Second ||
			!strings.HasPrefix(err.Error(), "job migrate is limited to 3 runs per minute (maxRunsPerMinute): retry in ") {
			t.Fatalf("fourth trigger: %v, want a RateLimitedError", err)
		}
	}
	if n := ft.creates(); n != 3 {
		t.Errorf("%d Jobs created, want 3", n)
	}
	if n := records(); n != before {
		t.Errorf("refused triggers wrote release records: %d, before %d", n, before)
	}
}

// TestNextRate: the generic cell rate algorithm on the state of the last
// release record, which is input: garbage counts as no state, a far future
// as one window.
func TestNextRate(t *testing.T) {
	now := time.UnixMilli(1_000_000_000)
	cases := []struct {
		name      string
		perMinute int
		last      string
		want      string // the new state, or "refused"
	}{
		{"no limit", 0, "x", ""},
		{"first", 60, "", "1000001000"},
		{"past state", 60, "5", "1000001000"},
		{"burst left", 60, "1000058000", "1000059000"},
		{"window full", 60, "1000060000", "refused"},
		{"garbage", 60, "soon", "1000001000"},
		{"far future", 60, "9999999999999", "refused"},
		// Another process's clock estimate ran 0.9 s ahead (Date headers
		// have whole seconds): the second of a burst of 2 is admitted…
		{"burst edge, clocks 0.9 s apart", 2, "1000030900", "1000060900"},
		// …but a third within the window is not, nor a 61st of 60.
		{"2 per minute, window full", 2, "1000060000", "refused"},
		{"60 per minute, beyond the window", 60, "1000060500", "refused"},
	}
	for _, c := range cases {
		got, err := run.RatePlan("j", c.perMinute).NextRate(c.last, now)
		if err != nil {
			got = "refused"
		}
		if got != c.want {
			t.Errorf("%s: %q (%v), want %q", c.name, got, err, c.want)
		}
	}
}
