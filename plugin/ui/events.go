package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// debounce gathers the changes of a burst (a run's Job and pod change
// together) into one event.
const debounce = 80 * time.Millisecond

// keepAlive is how often an idle stream sends a comment, so proxies and
// browsers keep it open.
const keepAlive = 15 * time.Second

// sse starts a Server-Sent Events response; it reports false (after an
// error page) when the connection cannot stream.
func sse(w http.ResponseWriter) (func(event, data string) error, bool) {
	fl, ok := w.(http.Flusher)
	if !ok {
		plain(w, http.StatusInternalServerError, "500: streaming is not supported")
		return nil, false
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	var mu sync.Mutex
	return func(event, data string) error {
		mu.Lock()
		defer mu.Unlock()
		var b strings.Builder
		if event != "" {
			b.WriteString("event: " + event + "\n")
		}
		for _, line := range strings.Split(strings.ReplaceAll(data, "\r", ""), "\n") {
			b.WriteString("data: " + line + "\n")
		}
		b.WriteString("\n")
		if _, err := w.Write([]byte(b.String())); err != nil {
			return fmt.Errorf("write event: %w", err)
		}
		fl.Flush()
		return nil
	}, true
}

// events streams the names of the runs of a namespace that change, from
// one watch of the namespace per browser tab (run.Watch): the page then
// fetches its fresh rendering. Event "runs": a JSON array of run names,
// empty when the watch expired and started over (the page refreshes all).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	_, _, ok := s.names(w, r)
	if !ok {
		return
	}
	ns := r.PathValue("ns")
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	send, ok := sse(w)
	if !ok {
		return
	}
	changes := make(chan string, 256)
	watchErr := make(chan error, 1)
	go func() {
		watchErr <- run.Watch(ctx, s.client(ctx), ns, func(name string) {
			select {
			case changes <- name:
			default: // the page refreshes all of it anyway
			}
		})
	}()
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	pending := map[string]bool{}
	var flush <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-watchErr:
			if err != nil {
				_ = send("problem", describe(err, ns).Message)
			}
			<-ctx.Done()
			return
		case name := <-changes:
			if name != "" { // "": the watch started over, anything may have changed
				pending[name] = true
			}
			if flush == nil {
				flush = time.After(debounce)
			}
		case <-flush:
			flush = nil
			names := make([]string, 0, len(pending))
			for n := range pending {
				names = append(names, n)
			}
			clear(pending)
			data, _ := json.Marshal(names)
			if send("runs", string(data)) != nil {
				return
			}
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}
}

// runLogsStream streams a run's output, every attempt, from the start,
// while it runs: one "line" event per line, then "end" when the run ended.
func (s *Server) runLogsStream(w http.ResponseWriter, r *http.Request) {
	p, vals, ok := s.names(w, r, "run")
	if !ok {
		return
	}
	send, ok := sse(w)
	if !ok {
		return
	}
	lw := &lineWriter{send: send}
	err := run.Logs(r.Context(), s.client(r.Context()), p.Namespace, vals[0], run.LogOptions{Follow: true, AllAttempts: true}, lw)
	lw.flush()
	if r.Context().Err() != nil {
		return
	}
	if err != nil {
		_ = send("problem", describe(err, p.Namespace).Message)
	}
	_ = send("end", "")
}

// lineWriter turns written bytes into one event per complete line.
type lineWriter struct {
	send func(event, data string) error
	buf  bytes.Buffer
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.buf.Write(b)
	for {
		i := bytes.IndexByte(l.buf.Bytes(), '\n')
		if i < 0 {
			return len(b), nil
		}
		line := string(l.buf.Next(i + 1))
		if err := l.send("line", strings.TrimSuffix(line, "\n")); err != nil {
			return 0, err
		}
	}
}

func (l *lineWriter) flush() {
	if l.buf.Len() > 0 {
		_ = l.send("line", l.buf.String())
		l.buf.Reset()
	}
}
