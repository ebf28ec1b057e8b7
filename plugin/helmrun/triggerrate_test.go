package helmrun

import (
	"errors"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/release"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
	records := func() int {
		l, err := ft.cs.CoreV1().Secrets("ns").List(t.Context(), metav1.ListOptions{LabelSelector: "owner=helm"})
		if err != nil {
			t.Fatal(err)
		}
		return len(l.Items)
	}
	before := records()
	other := &fakeTrigger{cs: ft.cs, Triggerer: &Triggerer{Client: ft.cs, helm: ft.helm}}
	for _, tr := range []*fakeTrigger{ft, other} {
		_, err := trigger(t, tr)
		var limited *run.RateLimitedError
		if !errors.As(err, &limited) || limited.RetryAfter <= 0 || limited.RetryAfter > 20*time.Second ||
			!strings.HasPrefix(err.Error(), "job migrate is limited to 3 runs per minute (maxRunsPerMinute): retry in ") {
			t.Fatalf("fourth trigger: %v, want a RateLimitedError", err)
		}
	}
	if n := ft.creates.Load(); n != 3 {
		t.Errorf("%d Jobs created, want 3", n)
	}
	if n := records(); n != before {
		t.Errorf("refused triggers wrote release records: %d, before %d", n, before)
	}
}

// TestRateLabels: the generic cell rate algorithm on the release record,
// which is input: garbage counts as no state, a far future as one window.
func TestRateLabels(t *testing.T) {
	now := time.UnixMilli(1_000_000_000)
	rec := func(v string) *release.Release { return &release.Release{Labels: map[string]string{labelRateTAT: v}} }
	cases := []struct {
		name      string
		perMinute int
		last      *release.Release
		want      string // the new state, or "refused"
	}{
		{"no limit", 0, rec("x"), ""},
		{"first", 60, nil, "1000001000"},
		{"past state", 60, rec("5"), "1000001000"},
		{"burst left", 60, rec("1000058000"), "1000059000"},
		{"window full", 60, rec("1000060000"), "refused"},
		{"garbage", 60, rec("soon"), "1000001000"},
		{"far future", 60, rec("9999999999999"), "refused"},
	}
	for _, c := range cases {
		labels, err := rateLabels("j", c.perMinute, c.last, now)
		got := labels[labelRateTAT]
		if err != nil {
			got = "refused"
		}
		if got != c.want {
			t.Errorf("%s: %q (%v), want %q", c.name, got, err, c.want)
		}
	}
}
