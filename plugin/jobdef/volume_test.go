package jobdef

import (
	"strings"
	"testing"
)

// TestValidateVolumeBounds: history limits, the trigger rate and tasks ×
// parallelism are validated (on write, and on read by CheckStored) with
// one line naming the field and the bound.
func TestValidateVolumeBounds(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	cases := map[string]struct {
		mutate       func(*Job)
		field, error string // "" = valid
	}{
		"defaults":          {func(*Job) {}, "", ""},
		"keep none":         {func(j *Job) { j.Spec.SucceededRunsHistoryLimit, j.Spec.FailedRunsHistoryLimit = i32(0), i32(0) }, "", ""},
		"keep the most":     {func(j *Job) { j.Spec.FailedRunsHistoryLimit = i32(MaxRunsHistoryLimit) }, "", ""},
		"negative kept":     {func(j *Job) { j.Spec.SucceededRunsHistoryLimit = i32(-1) }, "spec.succeededRunsHistoryLimit", "invalid succeededRunsHistoryLimit -1: must be between 0 (keep no finished run) and 1000"},
		"too many failed":   {func(j *Job) { j.Spec.FailedRunsHistoryLimit = i32(1001) }, "spec.failedRunsHistoryLimit", "invalid failedRunsHistoryLimit 1001: must be between 0 (keep no finished run) and 1000"},
		"no rate limit":     {func(j *Job) { j.Spec.MaxRunsPerMinute = i32(0) }, "", ""},
		"rate too high":     {func(j *Job) { j.Spec.MaxRunsPerMinute = i32(6001) }, "spec.maxRunsPerMinute", "invalid maxRunsPerMinute 6001: must be between 0 (no limit) and 6000"},
		"negative rate":     {func(j *Job) { j.Spec.MaxRunsPerMinute = i32(-5) }, "spec.maxRunsPerMinute", "invalid maxRunsPerMinute -5"},
		"tasks at the cap":  {func(j *Job) { j.Spec.Tasks, j.Spec.Parallelism = 10000, 10 }, "", ""},
		"review's run":      {func(j *Job) { j.Spec.Tasks, j.Spec.Parallelism = 3000, 300 }, "spec.parallelism", "invalid tasks 3000 × parallelism 300 = 900000: must be at most 100000 (lower parallelism to 33 or fewer)"},
		"all tasks at once": {func(j *Job) { j.Spec.Tasks = 1000 }, "spec.parallelism", "invalid tasks 1000 × parallelism 1000 = 1000000"},
	}
	for name, c := range cases {
		j := validJob()
		c.mutate(j)
		err := j.Validate()
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if FieldOf(err) != c.field || !strings.HasPrefix(err.Error(), c.error) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v (field %q), want %s: %s…", name, err, FieldOf(err), c.field, c.error)
		}
		if ie := j.CheckStored(); !IsInvalid(ie) || !strings.Contains(ie.Error(), c.field+": "+c.error) {
			t.Errorf("%s: CheckStored = %v", name, ie)
		}
	}
}

// TestVolumeDefaults: unset fields mean the documented defaults.
func TestVolumeDefaults(t *testing.T) {
	s := validJob().Spec
	if s.SucceededHistory() != 20 || s.FailedHistory() != 20 || s.RunsPerMinute() != 60 {
		t.Errorf("defaults: %d %d %d", s.SucceededHistory(), s.FailedHistory(), s.RunsPerMinute())
	}
	one := int32(1)
	s.FailedRunsHistoryLimit = &one
	var c Spec
	s.DeepCopyInto(&c)
	*s.FailedRunsHistoryLimit = 2
	if *c.FailedRunsHistoryLimit != 1 {
		t.Errorf("DeepCopy shares the limit")
	}
}
