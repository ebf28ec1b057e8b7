package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/notify"
)

// receiver is the webhook every job notifies: it answers 200 at once and
// records when each run's notification arrived.
type receiver struct {
	srv  *http.Server
	addr string

	mu       sync.Mutex
	arrivals map[string][]arrival // namespace/run → every notification of it
	bad      int                  // requests it could not read
	// notified, if set, is called (without the lock) with the key of a run
	// at its first notification.
	notified func(key string)
}

// arrival is one notification as received.
type arrival struct {
	at         time.Time
	outcome    string
	deliveryID string
	path       string
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rc := &receiver{addr: "http://" + ln.Addr().String(), arrivals: map[string][]arrival{}}
	rc.srv = &http.Server{Handler: http.HandlerFunc(rc.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = rc.srv.Serve(ln) }()
	return rc, nil
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var ev notify.Event
	if err == nil {
		err = json.Unmarshal(body, &ev)
	}
	key, firstOne := ev.Namespace+"/"+ev.Run, false
	rc.mu.Lock()
	if err != nil || ev.Run == "" {
		rc.bad++
	} else {
		firstOne = len(rc.arrivals[key]) == 0
		rc.arrivals[key] = append(rc.arrivals[key], arrival{at: at, outcome: ev.Outcome,
			deliveryID: r.Header.Get(notify.HeaderDelivery), path: r.URL.Path})
	}
	notified := rc.notified
	rc.mu.Unlock()
	w.WriteHeader(http.StatusOK)
	if firstOne && notified != nil {
		notified(key)
	}
}

// first is when run key's first notification arrived, and how many came.
func (rc *receiver) first(key string) (arrival, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	as := rc.arrivals[key]
	if len(as) == 0 {
		return arrival{}, 0
	}
	return as[0], len(as)
}

// snapshot copies what arrived so far.
func (rc *receiver) snapshot() (map[string][]arrival, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string][]arrival, len(rc.arrivals))
	for k, v := range rc.arrivals {
		out[k] = append([]arrival(nil), v...)
	}
	return out, rc.bad
}
