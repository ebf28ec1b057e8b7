package hookserver

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a token bucket per hook, in this replica's memory: with N
// replicas behind a load balancer a hook gets at most N times the rate.
type limiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// newLimiter allows perSecond requests per hook with bursts of burst;
// perSecond <= 0 means no limit.
func newLimiter(perSecond float64, burst int) *limiter {
	l := &limiter{rate: rate.Limit(perSecond), burst: max(burst, 1), buckets: map[string]*rate.Limiter{}}
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
	b, ok := l.buckets[key]
	if !ok {
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[key] = b
	}
	l.mu.Unlock()
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// forget drops key's bucket (its hook was deleted).
func (l *limiter) forget(key string) {
	l.mu.Lock()
	delete(l.buckets, key)
	l.mu.Unlock()
}
