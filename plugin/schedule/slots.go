// Package schedule runs the schedules of job definitions: the hook
// server's leader computes each schedule's slots in its time zone and
// triggers one run per slot through the normal trigger, with an
// idempotency key made of the definition's UID, the schedule's name and the
// slot's time, so that no slot runs twice. It imports no command layer and
// knows nothing of Helm or of how the server is assembled.
package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// Slots are the instants a schedule runs at.
type Slots struct {
	spec  *cron.SpecSchedule // nil for @every
	every time.Duration
	loc   *time.Location
}

// SlotsOf parses the schedule's expression and zone.
func SlotsOf(sc jobdef.Schedule) (Slots, error) {
	parsed, err := jobdef.ParseCron(sc.Cron)
	if err != nil {
		return Slots{}, err
	}
	s := Slots{loc: sc.Location()}
	switch p := parsed.(type) {
	case *cron.SpecSchedule:
		spec := *p
		spec.Location = time.UTC // Next walks wall-clock times (see Next)
		s.spec = &spec
	case cron.ConstantDelaySchedule:
		s.every = p.Delay
	default:
		return Slots{}, fmt.Errorf("unsupported cron expression %q", sc.Cron)
	}
	return s, nil
}

// Next is the first slot strictly after t.
//
// @every d: the multiples of d since the Unix epoch, the same on every
// replica whenever it starts. Other expressions: the local times in the
// schedule's zone that match; a local time that does not exist (spring
// forward) runs once at the first instant after the gap, a local time that
// happens twice (fall back) runs once, at its first occurrence.
func (s Slots) Next(t time.Time) time.Time {
	if s.spec == nil {
		d := s.every
		return time.Unix(0, 0).Add((t.Sub(time.Unix(0, 0)) / d) * d).Add(d).In(s.loc)
	}
	wall := wallOf(t.In(s.loc))
	for range 1000 {
		wall = s.spec.Next(wall)
		if wall.IsZero() {
			return time.Time{}
		}
		if at := s.instant(wall); at.After(t) {
			return at
		}
	}
	return time.Time{}
}

// wallOf is t's wall-clock time as UTC (which has no daylight saving).
func wallOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// instant is when the wall-clock time wall happens in the zone: its first
// occurrence, or the end of the gap it falls in.
func (s Slots) instant(wall time.Time) time.Time {
	at := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, s.loc)
	start, end := at.ZoneBounds()
	switch w := wallOf(at); {
	case w.Before(wall): // in a gap, read in the zone before it: that zone's end
		return end
	case w.After(wall): // in a gap, read in the zone after it: that zone's start
		return start
	}
	_, off := at.Zone()
	if _, prev := start.Add(-time.Second).Zone(); prev > off {
		// Fall back: wall may have happened once already, in the zone before.
		if first := at.Add(-time.Duration(prev-off) * time.Second); wallOf(first).Equal(wall) {
			return first
		}
	}
	return at
}

// maxScan bounds the slots of a cron expression counted one by one after a
// long downtime.
const maxScan = 10000

// Due is what to do at now for a schedule whose slots up to last have been
// handled: run is the most recent slot not after now if it is within the
// deadline (zero otherwise), missed counts the slots passed over (never
// run, only recorded; a lower bound after very long downtimes of cron
// expressions), next is the first slot after now. A deadline of 0 means
// none.
func (s Slots) Due(last, now time.Time, deadline time.Duration) (run time.Time, missed int, next time.Time) {
	next = s.Next(now)
	var latest time.Time
	count := 0
	if s.spec == nil {
		if now.After(last) {
			epoch := time.Unix(0, 0)
			count = int(now.Sub(epoch)/s.every - last.Sub(epoch)/s.every)
			latest = epoch.Add(now.Sub(epoch) / s.every * s.every).In(s.loc)
		}
	} else {
		from, scanned := last, 0
		for t := s.Next(from); !t.IsZero() && !t.After(now); t = s.Next(t) {
			count++
			latest = t
			if scanned++; scanned == maxScan {
				// A fine cron after a long downtime: jump to the window
				// that can still run.
				if window := now.Add(-max(deadline, 24*time.Hour)); window.After(t) {
					t = window
				}
			}
		}
	}
	if count == 0 {
		return time.Time{}, 0, next
	}
	if deadline > 0 && now.Sub(latest) > deadline {
		return time.Time{}, count, next
	}
	return latest, count - 1, next
}

// Key is the idempotency key of the run of schedule name of the definition
// with uid for slot: "schedule:<name>:<uid prefix>:<unix seconds>" (at most
// 59 characters, within run.ValidateIdempotencyKey's 64).
func Key(uid, name string, slot time.Time) string {
	u := strings.ReplaceAll(uid, "-", "")
	if len(u) > 8 {
		u = u[:8]
	}
	if u == "" {
		u = "0"
	}
	return fmt.Sprintf("schedule:%s:%s:%d", name, u, slot.Unix())
}

// SlotOfKey returns the schedule and slot a run's idempotency key records
// (ok=false: not a key of Key).
func SlotOfKey(key string) (name string, slot time.Time, ok bool) {
	parts := strings.Split(key, ":")
	if len(parts) != 4 || parts[0] != "schedule" {
		return "", time.Time{}, false
	}
	sec, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return parts[1], time.Unix(sec, 0), true
}

// TriggeredBy is the provenance a scheduled run records.
func TriggeredBy(name string) string { return "schedule:" + name }
