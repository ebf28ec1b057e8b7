package hookserver

import (
	"testing"
	"time"
)

// TestLimiterUnboundedForgets: without a bound every key keeps its bucket
// until forgotten; a forgotten key starts again with a full burst.
func TestLimiterUnboundedForgets(t *testing.T) {
	l := newLimiter(1, 2, 0)
	now := time.Now()
	for i := range 1000 {
		l.allow(string(rune('a'+i%26))+time.Duration(i).String(), now)
	}
	if l.len() != 1000 {
		t.Fatalf("%d keys tracked, want 1000", l.len())
	}
	for range 2 {
		if ok, _ := l.allow("hook", now); !ok {
			t.Fatal("the burst was refused")
		}
	}
	if ok, wait := l.allow("hook", now); ok || wait <= 0 {
		t.Fatalf("over the burst: allowed %v, wait %v", ok, wait)
	}
	l.forget("hook")
	if ok, _ := l.allow("hook", now); !ok || l.len() != 1001 {
		t.Fatalf("after forget: allowed %v, %d keys", ok, l.len())
	}
	if ok, _ := newLimiter(0, 1, 0).allow("x", now); !ok {
		t.Fatal("no limit refused")
	}
}
