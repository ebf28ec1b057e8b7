package hookserver

import (
	"container/list"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a token bucket per key, in this replica's memory: with N
// replicas behind a load balancer a key gets at most N times the rate. The
// server keys one by hook (triggers, status reads) and one by client
// address (requests without a valid token, see clientOf); the latter is
// bounded, forgetting the least recently seen key first.
type limiter struct {
	rate  rate.Limit
	burst int
	max   int // keys tracked at most; 0: no bound

	mu    sync.Mutex
	order *list.List // of *bucket, most recently seen first
	byKey map[string]*list.Element
}

type bucket struct {
	key string
	lim *rate.Limiter
}

// newLimiter allows perSecond requests per key with bursts of burst,
// tracking at most maxKeys keys (0: any number); perSecond <= 0 means no
// limit.
func newLimiter(perSecond float64, burst, maxKeys int) *limiter {
	l := &limiter{rate: rate.Limit(perSecond), burst: max(burst, 1), max: max(maxKeys, 0),
		order: list.New(), byKey: map[string]*list.Element{}}
	if perSecond <= 0 {
		l.rate = rate.Inf
	}
	return l
}

// allow takes a token of key's bucket, or says how long until one is free.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l.rate == rate.Inf {
		return true, 0
	}
	l.mu.Lock()
	el, ok := l.byKey[key]
	if ok {
		l.order.MoveToFront(el)
	} else {
		if l.max > 0 && l.order.Len() >= l.max {
			oldest := l.order.Back()
			l.order.Remove(oldest)
			delete(l.byKey, oldest.Value.(*bucket).key)
		}
		el = l.order.PushFront(&bucket{key: key, lim: rate.NewLimiter(l.rate, l.burst)})
		l.byKey[key] = el
	}
	lim := el.Value.(*bucket).lim
	l.mu.Unlock()
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// forget drops key's bucket (its hook was deleted).
func (l *limiter) forget(key string) {
	l.mu.Lock()
	if el, ok := l.byKey[key]; ok {
		l.order.Remove(el)
		delete(l.byKey, key)
	}
	l.mu.Unlock()
}

// len is the number of tracked keys.
func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}
