package hookserver

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
)

// UsageInterval is the resolution of a hook's last-used time: a hook is
// written at most once per interval, not once per request.
const UsageInterval = time.Minute

// usage coalesces last-used times in memory and writes them in the
// background: at most one patch per hook and interval per replica, none
// when the annotation (as any replica wrote it) is recent enough.
type usage struct {
	client kubernetes.Interface
	index  *Index
	log    *slog.Logger

	mu      sync.Mutex
	pending map[[2]string]time.Time // namespace, id -> last use
}

func newUsage(client kubernetes.Interface, index *Index, log *slog.Logger) *usage {
	return &usage{client: client, index: index, log: log, pending: map[[2]string]time.Time{}}
}

// record notes a use of e at t; no API request.
func (u *usage) record(e Entry, t time.Time) {
	if t.Sub(e.LastUsed) < UsageInterval {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	k := [2]string{e.Namespace, e.ID}
	if t.After(u.pending[k]) {
		u.pending[k] = t
	}
}

// run flushes every period until ctx ends.
func (u *usage) run(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			u.flush(ctx)
		}
	}
}

// flush writes pending uses that are news to the API server. Failed
// writes are dropped: the next use records again.
func (u *usage) flush(ctx context.Context) {
	u.mu.Lock()
	batch := u.pending
	u.pending = map[[2]string]time.Time{}
	u.mu.Unlock()
	for k, t := range batch {
		if e, ok := u.index.Lookup(k[0], k[1]); !ok || t.Sub(e.LastUsed) < UsageInterval {
			continue // deleted, or another replica wrote a recent time
		}
		store := &hook.Store{Client: u.client, Namespace: k[0]}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := store.TouchLastUsed(wctx, k[1], t); err != nil {
			u.log.Warn("record last use of hook", "hook", k[1], "namespace", k[0], "error", err.Error())
		}
		cancel()
	}
}
