package runend

import (
	"context"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// What a run's end records on its Job, decided here and written by the run
// domain (run.ClaimEnd, run.RecordDeliveries): every state of the end is in
// the Job's annotations, so a new leader goes on where the last one stopped.

// claim sets the run's TTL by its outcome and its notifications (all
// pending) in one update at the resourceVersion read: of two leaders (an
// old one not yet stopped), one wins and the other re-reads.
func (p *Processor) claim(ctx context.Context, job *batchv1.Job, def *jobdef.Job, outcome jobdef.Outcome, keys func() (jobdef.SigningKeys, error)) (*batchv1.Job, error) {
	var c run.EndClaim
	if def != nil {
		if ttl, keep, err := def.Spec.RetentionOf(outcome); err == nil {
			c.SetTTL = true
			if keep {
				c.TTL = &ttl
			}
		}
		var secret []byte
		for i, n := range def.Spec.Notifications {
			if !n.Notifies(outcome) {
				continue
			}
			if secret == nil {
				k, err := keys()
				if err != nil {
					return nil, err // retried: the Secret may be there later
				}
				secret = k.Current
			}
			c.Deliveries = append(c.Deliveries, run.Delivery{Target: i, State: run.DeliveryPending, URLHash: urlHash(secret, n.URL)})
		}
	}
	// Noted before the write: its watch event may come before its answer.
	ends := len(c.Deliveries) == 0
	if ends {
		p.ended.note(job)
	}
	out, err := run.ClaimEnd(ctx, p.cfg.Client, job, c)
	if err != nil && ends {
		p.ended.take(job)
	}
	return out, err
}

// record writes deliveries (and with ended, the mark that the run's end is
// done) on the run, re-reading it after a conflict.
func (p *Processor) record(ctx context.Context, job *batchv1.Job, ds []run.Delivery, ended bool) (*batchv1.Job, error) {
	if ended { // noted before the write: its watch event may come before its answer
		p.ended.note(job)
	}
	out, err := run.RecordDeliveries(ctx, p.cfg.Client, job, ds, ended)
	if err != nil && ended {
		p.ended.take(job)
	}
	return out, err
}

// endedHere are the runs this leader marked ended, for a while: when the
// mark takes a run out of the watch of runs not ended, the watch says
// "deleted" with the run as it was before the mark, which is not a run
// deleted before its end (run_ends_missed).
type endedHere struct {
	mu     sync.Mutex
	keys   map[string]time.Time
	pruned time.Time
}

// endedHereFor is how long a run marked ended is remembered: its watch
// event comes within moments, or after a relist (not counted at all).
const endedHereFor = 5 * time.Minute

func (e *endedHere) note(j *batchv1.Job) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	if e.keys == nil {
		e.keys = map[string]time.Time{}
	}
	// Their watch events take them out; what a watch gap left is dropped
	// once a minute at most.
	if len(e.keys) >= 1024 && now.Sub(e.pruned) > time.Minute {
		e.pruned = now
		for k, at := range e.keys {
			if now.Sub(at) > endedHereFor {
				delete(e.keys, k)
			}
		}
	}
	e.keys[j.Namespace+"/"+j.Name] = now
}

// take reports whether the run was marked ended here, forgetting it.
func (e *endedHere) take(j *batchv1.Job) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := j.Namespace + "/" + j.Name
	_, ok := e.keys[k]
	delete(e.keys, k)
	return ok
}

// markEnded records ds (unless nil) and that the run's end is done.
func (p *Processor) markEnded(ctx context.Context, job *batchv1.Job, ds []run.Delivery) error {
	_, err := p.record(ctx, job, ds, true)
	return err
}
