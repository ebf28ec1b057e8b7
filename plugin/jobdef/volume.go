package jobdef

import "fmt"

// Bounds on the volume of a job's runs (not only on how many are active):
// how many finished runs are kept, how often runs may be triggered, and
// how many task pods one run may make.
const (
	// DefaultRunsHistoryLimit is SucceededRunsHistoryLimit and
	// FailedRunsHistoryLimit when unset: enough to compare a run with the
	// ones before it and to read the logs of a series of failures, few
	// enough that a job triggered in a loop keeps a few dozen Jobs, Pods
	// and files Secrets, not millions (docs/storage.md, "Volume").
	DefaultRunsHistoryLimit = 20
	// MaxRunsHistoryLimit bounds either history limit.
	MaxRunsHistoryLimit = 1000
	// DefaultMaxRunsPerMinute is MaxRunsPerMinute when unset.
	DefaultMaxRunsPerMinute = 60
	// MaxRunsPerMinuteLimit bounds MaxRunsPerMinute (100 runs a second).
	MaxRunsPerMinuteLimit = 6000
	// MaxTaskPods caps tasks × parallelism (parallelism 0 counts as
	// tasks): the pods one run makes times how many of them run at once.
	MaxTaskPods = 100000
)

// SucceededHistory is how many succeeded runs are kept.
func (s *Spec) SucceededHistory() int {
	return limitOr(s.SucceededRunsHistoryLimit, DefaultRunsHistoryLimit)
}

// FailedHistory is how many failed and cancelled runs are kept.
func (s *Spec) FailedHistory() int {
	return limitOr(s.FailedRunsHistoryLimit, DefaultRunsHistoryLimit)
}

// RunsPerMinute is how many runs may be triggered per minute (0: no limit).
func (s *Spec) RunsPerMinute() int {
	return limitOr(s.MaxRunsPerMinute, DefaultMaxRunsPerMinute)
}

func limitOr(v *int32, def int) int {
	if v == nil {
		return def
	}
	return int(*v)
}

// CheckTaskPods refuses a run of tasks tasks, parallelism at once (0: all),
// beyond MaxTaskPods.
func CheckTaskPods(tasks, parallelism int32) error {
	t := int64(max(tasks, 1))
	p := t
	if parallelism > 0 && int64(parallelism) < t {
		p = int64(parallelism)
	}
	if t*p > MaxTaskPods {
		return fmt.Errorf("invalid tasks %d × parallelism %d = %d: must be at most %d (lower parallelism to %d or fewer)",
			t, p, t*p, MaxTaskPods, MaxTaskPods/t)
	}
	return nil
}

func (s *Spec) validateVolume() error {
	for _, l := range []struct {
		field string
		v     *int32
	}{{"succeededRunsHistoryLimit", s.SucceededRunsHistoryLimit}, {"failedRunsHistoryLimit", s.FailedRunsHistoryLimit}} {
		if l.v != nil && (*l.v < 0 || *l.v > MaxRunsHistoryLimit) {
			return fieldErr("spec."+l.field, fmt.Errorf("invalid %s %d: must be between 0 (keep no finished run) and %d", l.field, *l.v, MaxRunsHistoryLimit))
		}
	}
	if m := s.MaxRunsPerMinute; m != nil && (*m < 0 || *m > MaxRunsPerMinuteLimit) {
		return fieldErr("spec.maxRunsPerMinute", fmt.Errorf("invalid maxRunsPerMinute %d: must be between 0 (no limit) and %d", *m, MaxRunsPerMinuteLimit))
	}
	if err := CheckTaskPods(s.Tasks, s.Parallelism); err != nil {
		return fieldErr("spec.parallelism", err)
	}
	return nil
}
