package notify

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fast is a Policy with millisecond delays.
var fast = Policy{Tries: 5, Initial: time.Millisecond, Max: 4 * time.Millisecond}

// answering is a receiver answering codes in turn, then the last one.
func answering(t *testing.T, codes ...int) *receiver {
	var n atomic.Int32
	return newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		i := int(n.Add(1)) - 1
		w.WriteHeader(codes[min(i, len(codes)-1)])
	})
}

func TestNotifyDeliverRetries(t *testing.T) {
	for name, c := range map[string]struct {
		codes     []int
		delivered bool
		tries     int
		summary   string
	}{
		"500 500 200": {[]int{500, 500, 200}, true, 3, "delivered (HTTP 200, 3 tries)"},
		"200":         {[]int{200}, true, 1, "delivered (HTTP 200, 1 try)"},
		"429 200":     {[]int{429, 200}, true, 2, "delivered (HTTP 200, 2 tries)"},
		"502 204":     {[]int{502, 204}, true, 2, "delivered (HTTP 204, 2 tries)"},
		"400":         {[]int{400, 200}, false, 1, "failed after 1 try: receiver answered 400 Bad Request"},
		"410":         {[]int{410, 200}, false, 1, "failed after 1 try: receiver answered 410 Gone"},
		"503 always":  {[]int{503}, false, 5, "failed after 5 tries: receiver answered 503 Service Unavailable"},
	} {
		rcv := answering(t, c.codes...)
		var seen []int
		r := NewSender(Options{AllowPrivate: true, AllowInsecure: true}).Deliver(t.Context(), fast, rcv.URL, []byte("{}"),
			"application/json", nil, func(n int, a Attempt) { seen = append(seen, n) })
		if r.Delivered != c.delivered || r.Tries != c.tries || r.Refused || r.Stopped || r.Summary() != c.summary {
			t.Errorf("%s: %+v %q, want delivered %v after %d tries: %q", name, r, r.Summary(), c.delivered, c.tries, c.summary)
		}
		if int(rcv.hits.Load()) != c.tries || len(seen) != c.tries || seen[len(seen)-1] != c.tries {
			t.Errorf("%s: %d requests, onAttempt %v; want %d", name, rcv.hits.Load(), seen, c.tries)
		}
	}
}

func TestNotifyDeliverRefusedOnce(t *testing.T) {
	rcv := newReceiver(t, ok)
	r := NewSender(Options{AllowInsecure: true}).Deliver(t.Context(), fast, rcv.URL, nil, "application/json", nil, nil)
	if !r.Refused || r.Tries != 1 || r.Delivered ||
		r.Summary() != "refused: 127.0.0.1 is a loopback address (allow it with --webhook-allow-cidrs)" {
		t.Errorf("%+v %q", r, r.Summary())
	}
	if rcv.hits.Load() != 0 {
		t.Error("the receiver was called")
	}
}

// hanging is a receiver that never answers.
func hanging(t *testing.T) *receiver {
	return newReceiver(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
}

func TestNotifyDeliverTimeoutPerTry(t *testing.T) {
	rcv := hanging(t)
	s := NewSender(Options{AllowPrivate: true, AllowInsecure: true, Timeout: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	r := s.Deliver(ctx, Policy{Tries: 3, Initial: time.Millisecond}, rcv.URL, nil, "application/json", nil, func(_ int, a Attempt) {
		if a.Duration > time.Second {
			t.Errorf("a try took %v", a.Duration)
		}
	})
	if elapsed := time.Since(start); elapsed > 2*time.Second || elapsed < 150*time.Millisecond {
		t.Errorf("3 tries of 50ms took %v", elapsed)
	}
	if r.Delivered || r.Stopped || r.Tries != 3 || !r.Last.Retryable || r.Summary() != "failed after 3 tries: no answer within 50ms" {
		t.Errorf("%+v %q", r, r.Summary())
	}
}

// deliverAsync runs Deliver and fails the test unless it returns within d.
func deliverAsync(t *testing.T, d time.Duration, deliver func() Result) Result {
	t.Helper()
	done := make(chan Result, 1)
	go func() { done <- deliver() }()
	select {
	case r := <-done:
		return r
	case <-time.After(d):
		t.Fatalf("Deliver did not return within %v of the cancel", d)
		return Result{}
	}
}

func TestNotifyDeliverCancelWhileWaiting(t *testing.T) {
	rcv := answering(t, 503)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := NewSender(Options{AllowPrivate: true, AllowInsecure: true})
	r := deliverAsync(t, 2*time.Second, func() Result {
		return s.Deliver(ctx, Policy{Tries: 5, Initial: time.Hour}, rcv.URL, nil, "application/json", nil,
			func(int, Attempt) { time.AfterFunc(50*time.Millisecond, cancel) }) // cancel while waiting
	})
	if !r.Stopped || r.Delivered || r.Tries != 1 || rcv.hits.Load() != 1 ||
		r.Summary() != "stopped after 1 try (context canceled); last: receiver answered 503 Service Unavailable" {
		t.Errorf("%+v %q", r, r.Summary())
	}
}

func TestNotifyDeliverCancelDuringTry(t *testing.T) {
	rcv := hanging(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := NewSender(Options{AllowPrivate: true, AllowInsecure: true, Timeout: time.Hour})
	time.AfterFunc(50*time.Millisecond, cancel)
	r := deliverAsync(t, 2*time.Second, func() Result {
		return s.Deliver(ctx, fast, rcv.URL, nil, "application/json", nil, nil)
	})
	if !r.Stopped || r.Tries != 1 || r.Last.Retryable || r.Summary() != "stopped after 1 try (context canceled)" {
		t.Errorf("%+v %q", r, r.Summary())
	}
	// A context already done: one try that sends nothing.
	r = s.Deliver(ctx, fast, rcv.URL, nil, "application/json", nil, nil)
	if !r.Stopped || r.Tries != 1 || rcv.hits.Load() != 1 {
		t.Errorf("done context: %+v, %d requests", r, rcv.hits.Load())
	}
}

func TestNotifyDefaultPolicySchedule(t *testing.T) {
	p := DefaultPolicy()
	if p.Tries != 5 || p.Delay(1) != 0 || p.Delay(0) != 0 {
		t.Fatalf("%+v, Delay(1) = %v", p, p.Delay(1))
	}
	const tryTimeout = 10 * time.Second // Options' default
	worst := time.Duration(p.Tries) * tryTimeout
	for n := 2; n <= p.Tries; n++ {
		base := p.base(n)
		lo, hi := time.Duration(float64(base)*0.8), time.Duration(float64(base)*1.2)
		minSeen, maxSeen := time.Duration(1<<62), time.Duration(0)
		for range 2000 {
			d := p.Delay(n)
			if d < lo || d > hi {
				t.Fatalf("Delay(%d) = %v, outside %v–%v", n, d, lo, hi)
			}
			minSeen, maxSeen = min(minSeen, d), max(maxSeen, d)
		}
		if maxSeen-minSeen < (hi-lo)/2 {
			t.Errorf("Delay(%d) jitters only %v–%v", n, minSeen, maxSeen)
		}
		worst += hi
	}
	if worst > 10*time.Minute {
		t.Errorf("the schedule can take %v with every try timing out: more than 10 minutes", worst)
	}
	var bases []string
	for n := 2; n <= p.Tries; n++ {
		bases = append(bases, p.base(n).String())
	}
	if got := strings.Join(bases, " "); got != "15s 45s 2m15s 4m0s" {
		t.Errorf("delays %s", got)
	}
	if d := (Policy{Tries: 100, Initial: time.Hour}).base(100); d <= 0 {
		t.Errorf("uncapped delay overflows: %v", d)
	}
}
