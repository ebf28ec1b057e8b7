package runend

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/notify"
)

// TestBreakerBacksOffFailingHosts: after 3 failed tries in a row a host is
// backed off for the cool-down (doubling on a failed probe), per namespace;
// an answer (even a 503) closes it; refusals do not count; memory is
// bounded.
func TestBreakerBacksOffFailingHosts(t *testing.T) {
	b := newBreaker(3, time.Second, 3*time.Second, 2)
	now := time.Unix(1000, 0)
	fail := notify.Attempt{Err: errors.New("no answer"), Retryable: true}
	for range 2 {
		b.result("a", "h:443", fail, now)
	}
	b.result("a", "h:443", notify.Attempt{Err: errors.New("503"), Status: 503, Retryable: true}, now) // an answer: resets
	b.result("a", "h:443", notify.Attempt{Err: errors.New("refused"), Refused: true}, now)
	for range 2 {
		b.result("a", "h:443", fail, now)
	}
	if !b.allow("a", "h:443", now) {
		t.Fatal("backed off after 2 failures in a row (a 503 answer in between), want 3")
	}
	b.result("a", "h:443", fail, now)
	if b.allow("a", "h:443", now) || b.allow("a", "h:443", now.Add(999*time.Millisecond)) {
		t.Error("not backed off after 3 failures in a row")
	}
	if !b.allow("b", "h:443", now) || !b.allow("a", "other:443", now) {
		t.Error("another namespace or host is backed off too")
	}
	probe := now.Add(time.Second)
	if !b.allow("a", "h:443", probe) {
		t.Fatal("no probe after the cool-down")
	}
	b.result("a", "h:443", fail, probe)
	if b.allow("a", "h:443", probe.Add(1999*time.Millisecond)) || !b.allow("a", "h:443", probe.Add(2*time.Second)) {
		t.Error("a failed probe must double the cool-down to 2s")
	}
	b.result("a", "h:443", notify.Attempt{Status: 200}, probe.Add(2*time.Second))
	if !b.allow("a", "h:443", probe.Add(2*time.Second)) {
		t.Error("an answer must close the breaker")
	}
	for i := range 10 {
		for range 3 {
			b.result("a", fmt.Sprint("host-", i), fail, now)
		}
	}
	if n := b.hosts.Len(); n > 2 {
		t.Errorf("breaker remembers %d hosts, want at most 2", n)
	}
}
