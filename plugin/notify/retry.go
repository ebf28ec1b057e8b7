package notify

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Policy is how often and when Deliver tries: the delay before try n (n >=
// 2) is Initial·3^(n-2), at most Max, then ±20% at random (so receivers
// that failed together are not hit together again).
type Policy struct {
	Tries        int // at least 1
	Initial, Max time.Duration
}

// DefaultPolicy tries 5 times, waiting about 15s, 45s, 2m15s and 4m. Even
// with the +20% of jitter and every try taking its 10s timeout, the whole
// schedule stays within 10 minutes.
func DefaultPolicy() Policy {
	return Policy{Tries: 5, Initial: 15 * time.Second, Max: 4 * time.Minute}
}

// Delay is the wait before try n; 0 for n < 2.
func (p Policy) Delay(try int) time.Duration {
	d := p.base(try)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// base is Delay without jitter.
func (p Policy) base(try int) time.Duration {
	if try < 2 || p.Initial <= 0 {
		return 0
	}
	d := p.Initial
	for range try - 2 {
		if p.Max > 0 && d >= p.Max || d > time.Duration(1<<62)/3 {
			break
		}
		d *= 3
	}
	if p.Max > 0 && d > p.Max {
		d = p.Max
	}
	return d
}

// Result sums up a delivery.
type Result struct {
	Delivered bool
	Tries     int
	Last      Attempt // the last try
	Refused   bool    // the outbound policy refused the target
	Stopped   bool    // ctx ended before the delivery succeeded or gave up
	cause     error   // why ctx ended, when Stopped
}

// Deliver sends body to target with Send until the receiver answers 2xx,
// gives a non-retryable answer, p.Tries are used up or ctx ends (also
// while waiting between tries). onAttempt, when not nil, is called after
// each try (for logs and metrics).
func (s *Sender) Deliver(ctx context.Context, p Policy, target string, body []byte, contentType string,
	headers map[string]string, onAttempt func(n int, a Attempt)) Result {
	var r Result
	for n := 1; ; n++ {
		if n > 1 && !wait(ctx, p.Delay(n)) {
			break
		}
		r.Tries, r.Last = n, s.Send(ctx, target, body, contentType, headers)
		if onAttempt != nil {
			onAttempt(n, r.Last)
		}
		if r.Last.Err == nil {
			r.Delivered = true
			return r
		}
		if r.Last.Refused {
			r.Refused = true
			return r
		}
		if ctx.Err() != nil {
			break
		}
		if !r.Last.Retryable || n >= p.Tries {
			return r
		}
	}
	r.Stopped, r.cause = true, context.Cause(ctx)
	return r
}

// wait waits d unless ctx ends first; it reports whether ctx is still live.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Summary is r in one line, for the run's annotation: "delivered (HTTP
// 200, 3 tries)", "failed after 5 tries: receiver answered 503 Service
// Unavailable", "refused: …", "stopped after 2 tries (context canceled);
// last: …".
func (r Result) Summary() string {
	switch {
	case r.Delivered:
		return fmt.Sprintf("delivered (HTTP %d, %s)", r.Last.Status, tries(r.Tries))
	case r.Refused && r.Last.Err != nil:
		return r.Last.Err.Error()
	case r.Stopped:
		msg := fmt.Sprintf("stopped after %s (%v)", tries(r.Tries), r.cause)
		if r.Last.Err != nil && !errors.Is(r.Last.Err, r.cause) {
			msg += "; last: " + r.Last.Err.Error()
		}
		return msg
	case r.Last.Err != nil:
		return fmt.Sprintf("failed after %s: %v", tries(r.Tries), r.Last.Err)
	}
	return "not sent"
}

func tries(n int) string {
	if n == 1 {
		return "1 try"
	}
	return fmt.Sprintf("%d tries", n)
}
