package schedule

import (
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

func slotsOf(t *testing.T, expr, zone string) Slots {
	t.Helper()
	s, err := SlotsOf(jobdef.Schedule{Name: "s", Cron: expr, TimeZone: zone})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestNext walks slots across daylight saving, month ends and @every.
func TestNext(t *testing.T) {
	for name, c := range map[string]struct {
		expr, zone, from string
		want             []string // UTC
	}{
		"new york spring forward: 02:30 runs once at 03:00 EDT": {"30 2 * * *", "America/New_York", "2026-03-07T17:00:00Z",
			[]string{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
		"new york fall back: 01:30 runs once": {"30 1 * * *", "America/New_York", "2026-10-31T17:00:00Z",
			[]string{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
		"new york fall back, half-hourly: the repeated hour once": {"*/30 * * * *", "America/New_York", "2026-11-01T04:50:00Z",
			[]string{"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z"}},
		"helsinki spring forward: 03:30 runs at 04:00 EEST": {"30 3 * * *", "Europe/Helsinki", "2026-03-28T12:00:00Z",
			[]string{"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
		"helsinki spring forward, hourly: no slot twice": {"0 * * * *", "Europe/Helsinki", "2026-03-28T23:30:00Z",
			[]string{"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"}},
		"helsinki fall back: 03:30 runs once": {"30 3 * * *", "Europe/Helsinki", "2026-10-24T12:00:00Z",
			[]string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
		"month ends: the 31st skips short months": {"0 0 31 * *", "UTC", "2026-01-31T00:00:00Z",
			[]string{"2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z"}},
		"leap day": {"0 12 29 2 *", "UTC", "2026-01-01T00:00:00Z", []string{"2028-02-29T12:00:00Z"}},
		"@every 5s: multiples since the epoch": {"@every 5s", "Europe/Helsinki", "2026-12-07T10:00:02Z",
			[]string{"2026-12-07T10:00:05Z", "2026-12-07T10:00:10Z"}},
		"@daily in a zone": {"@daily", "Europe/Helsinki", "2026-12-07T10:00:00Z", []string{"2026-12-07T22:00:00Z"}},
	} {
		t.Run(name, func(t *testing.T) {
			s := slotsOf(t, c.expr, c.zone)
			at := utc(c.from)
			for i, w := range c.want {
				at = s.Next(at)
				if !at.Equal(utc(w)) {
					t.Fatalf("slot %d = %s, want %s", i, at.UTC().Format(time.RFC3339), w)
				}
			}
		})
	}
}

func TestDue(t *testing.T) {
	every := slotsOf(t, "@every 5s", "")
	hourly := slotsOf(t, "0 * * * *", "Europe/Helsinki")
	last := utc("2026-12-07T10:00:00Z")
	for name, c := range map[string]struct {
		s        Slots
		now      time.Time
		deadline time.Duration
		run      string // "" none
		missed   int
	}{
		"nothing due": {every, last.Add(4 * time.Second), 0, "", 0},
		"one due":     {every, last.Add(6 * time.Second), time.Minute, "2026-12-07T10:00:05Z", 0},
		"200 missed, no deadline: only the latest runs": {every, last.Add(1000*time.Second + time.Second), 0, "2026-12-07T10:16:40Z", 199},
		"200 missed, 1m deadline":                       {every, last.Add(1000*time.Second + time.Second), time.Minute, "2026-12-07T10:16:40Z", 199},
		"latest too late for 1m":                        {hourly, utc("2026-12-07T13:30:00Z"), time.Minute, "", 3},
		"latest within 1h":                              {hourly, utc("2026-12-07T13:30:00Z"), time.Hour, "2026-12-07T13:00:00Z", 2},
		"no deadline, hourly":                           {hourly, utc("2026-12-15T13:30:00Z"), 0, "2026-12-15T13:00:00Z", 8*24 + 2},
		"a year of seconds is cheap":                    {slotsOf(t, "@every 1s", ""), last.Add(365 * 24 * time.Hour), time.Minute, "2027-12-07T10:00:00Z", 365*24*3600 - 1},
	} {
		t.Run(name, func(t *testing.T) {
			run, missed, next := c.s.Due(last, c.now, c.deadline)
			got := ""
			if !run.IsZero() {
				got = run.UTC().Format(time.RFC3339)
			}
			if got != c.run || missed != c.missed {
				t.Errorf("Due = %q, %d missed; want %q, %d", got, missed, c.run, c.missed)
			}
			if !next.After(c.now) {
				t.Errorf("next %s is not after now", next)
			}
		})
	}
}

func TestKey(t *testing.T) {
	slot := utc("2026-12-07T03:00:00Z")
	k := Key("0c0e5d4e-3f6a-4b8e-9a51-1b2c3d4e5f60", "a-thirty-character-long-name-x", slot)
	if len(k) > 64 {
		t.Fatalf("key %q is %d characters", k, len(k))
	}
	name, got, ok := SlotOfKey(k)
	if !ok || name != "a-thirty-character-long-name-x" || !got.Equal(slot) {
		t.Fatalf("SlotOfKey(%q) = %q %s %v", k, name, got, ok)
	}
	if _, _, ok := SlotOfKey("ci:build-981"); ok {
		t.Error("a user's key read as a slot")
	}
}
