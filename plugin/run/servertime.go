package run

import (
	"net/http"
	"sync/atomic"
	"time"
)

// ServerClock tells the API server's time from the Date header of its
// responses, so that ages of objects (their creationTimestamp, the server's
// clock) are measured on the same clock: a laptop whose clock is a minute
// off must neither heal a live trigger's release nor wait a minute to heal
// one left pending. The Date header has a resolution of one second, plenty
// for thresholds of seconds to minutes. Safe for concurrent use.
type ServerClock struct {
	offset atomic.Int64 // server minus local, in nanoseconds
	known  atomic.Bool
}

// Wrap is a rest.Config WrapTransport: every response of the API server
// updates the clock.
func (c *ServerClock) Wrap(rt http.RoundTripper) http.RoundTripper {
	return &clockTransport{next: rt, clock: c}
}

// Now is the API server's time now, or the local time before any response
// was seen (or for a nil clock).
func (c *ServerClock) Now() time.Time {
	now := time.Now()
	if c == nil || !c.known.Load() {
		return now
	}
	return now.Add(time.Duration(c.offset.Load()))
}

// Since is how long ago t (a time stamped by the API server) was.
func (c *ServerClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// Observe records a Date header seen on a response to a request sent at
// sent and answered at received: the server's clock read date (truncated
// to the second) somewhere in between.
func (c *ServerClock) Observe(date, sent, received time.Time) {
	mid := sent.Add(received.Sub(sent) / 2)
	c.offset.Store(int64(date.Add(500 * time.Millisecond).Sub(mid)))
	c.known.Store(true)
}

type clockTransport struct {
	next  http.RoundTripper
	clock *ServerClock
}

func (t *clockTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	sent := time.Now()
	resp, err := t.next.RoundTrip(req)
	if err == nil {
		if date, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
			t.clock.Observe(date, sent, time.Now())
		}
	}
	return resp, err
}
