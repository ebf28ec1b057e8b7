package run

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNewNameSortsAndFits(t *testing.T) {
	job := "a-job-name-that-is-exactly-fifty-two-characters-long"
	if len(job) != 52 {
		t.Fatalf("test job name has %d chars", len(job))
	}
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	prev := ""
	for i := range 50 {
		at := t0.Add(time.Duration(i) * 150 * time.Millisecond)
		n := newName(job, at)
		if len(n) > 63 {
			t.Fatalf("%q is %d characters", n, len(n))
		}
		if n <= prev {
			t.Fatalf("%q does not sort after %q", n, prev)
		}
		if got, ok := nameTime(n); !ok || at.Sub(got) >= 100*time.Millisecond || at.Before(got) {
			t.Fatalf("nameTime(%q) = %v, want ~%v", n, got, at)
		}
		prev = n
	}
	if newName("x", t0) == newName("x", t0) && newName("x", t0) == newName("x", t0) {
		t.Fatal("names of one instant repeat")
	}
}

// nameTime decodes the trigger time (tenths of a second) of a run name.
func nameTime(name string) (time.Time, bool) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 || len(name)-i-1 != 10 {
		return time.Time{}, false
	}
	ds, err := strconv.ParseInt(name[i+1:i+8], 36, 64)
	if err != nil {
		return time.Time{}, false
	}
	return nameEpoch.Add(time.Duration(ds) * 100 * time.Millisecond), true
}
