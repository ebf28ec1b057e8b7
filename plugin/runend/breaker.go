package runend

import (
	"sync"
	"time"

	"k8s.io/utils/lru"

	"github.com/shipjob/kubectl-shipjob/plugin/notify"
)

// breaker backs off receivers' hosts that keep failing: after threshold
// tries in a row to one host of one namespace got no answer (no
// connection, timeout: what holds a delivery slot), tries to it are not made for a
// cool-down (doubling while it goes on failing, at most maxCool); the first
// try after it is a probe. It remembers at most size hosts (the least
// recently used are forgotten), keyed by namespace too, so a namespace
// cannot back off another's receivers.
type breaker struct {
	threshold     int
	cool, maxCool time.Duration

	mu    sync.Mutex
	hosts *lru.Cache // breakerKey → *hostState
}

type breakerKey struct{ ns, host string }

type hostState struct {
	fails     int       // failed tries in a row
	openUntil time.Time // no tries before then
	cool      time.Duration
}

func newBreaker(threshold int, cool, maxCool time.Duration, size int) *breaker {
	return &breaker{threshold: max(threshold, 1), cool: cool, maxCool: max(maxCool, cool), hosts: lru.New(max(size, 1))}
}

// allow reports whether a try to host may be made now.
func (b *breaker) allow(ns, host string, now time.Time) bool {
	if b == nil || host == "" {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.hosts.Get(breakerKey{ns, host})
	return !ok || !now.Before(v.(*hostState).openUntil)
}

// result counts a try's outcome for host.
func (b *breaker) result(ns, host string, a notify.Attempt, now time.Time) {
	if b == nil || host == "" || a.Refused {
		return
	}
	failed := a.Err != nil && a.Retryable && a.Status == 0 // any HTTP answer closes it
	b.mu.Lock()
	defer b.mu.Unlock()
	key := breakerKey{ns, host}
	v, ok := b.hosts.Get(key)
	if !failed {
		if ok {
			b.hosts.Remove(key)
		}
		return
	}
	st, _ := v.(*hostState)
	if st == nil {
		st = &hostState{}
		b.hosts.Add(key, st)
	}
	st.fails++
	if st.fails >= b.threshold {
		switch {
		case st.cool == 0:
			st.cool = b.cool
		default:
			st.cool = min(2*st.cool, b.maxCool)
		}
		st.openUntil = now.Add(st.cool)
	}
}
