package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// Trigger starts a run: the very trigger of `kubectl shipjob run` and the
// hook server (run.Engine's Trigger).
type Trigger func(ctx context.Context, req run.Request) (*run.Result, error)

// Config is what a Scheduler needs; it does not know how the server is
// assembled.
type Config struct {
	Client     kubernetes.Interface
	Namespaces []string // "" alone: every namespace
	Trigger    Trigger
	Clock      clock.WithTicker // nil: the real clock
	Log        *slog.Logger
	Metrics    *Metrics // nil: none
	// Identity names this replica in Events and the heartbeat Lease.
	Identity string
	// Heartbeat is how often the leader renews the heartbeat Lease
	// (HeartbeatLease) of each namespace with schedules (default 15s), and
	// HeartbeatTTL how long a renewal holds (default 3 × Heartbeat).
	Heartbeat, HeartbeatTTL time.Duration
	// Retry is the first pause before a failed trigger is tried again
	// (default 1s, doubling, while the slot is within its deadline).
	Retry time.Duration
}

// Scheduler runs the schedules of the definitions in its namespaces while
// it leads: Run is a leader's work (runend.Lead).
type Scheduler struct {
	cfg Config

	mu      sync.Mutex
	defs    map[string]*jobdef.Job // namespace/name → valid definition
	state   map[string]*entry      // namespace/job/schedule
	fromRun map[string]time.Time   // idempotency key prefix → latest slot run, at start
	done    map[string]time.Time   // namespace/key prefix → latest slot handled (heartbeat)
	beatNow chan struct{}
	wake    chan struct{}
	flight  sync.WaitGroup
	// eventSeq tells apart Events recorded in the same nanosecond.
	eventSeq atomic.Uint32
}

// entry is what the leader knows of one schedule.
type entry struct {
	sig  string    // what its slots depend on: a change starts it afresh
	last time.Time // slots up to here are handled
	next time.Time
}

// New makes a Scheduler.
func New(cfg Config) *Scheduler {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Retry == 0 {
		cfg.Retry = time.Second
	}
	if len(cfg.Namespaces) == 0 {
		cfg.Namespaces = []string{""}
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.HeartbeatTTL <= 0 {
		cfg.HeartbeatTTL = heartbeatTTLPerBeat * cfg.Heartbeat
	}
	if cfg.Identity == "" {
		host, _ := os.Hostname()
		cfg.Identity = fmt.Sprintf("%s_%d", host, os.Getpid())
	}
	return &Scheduler{cfg: cfg}
}

// With returns work that runs the scheduler beside other leader work
// (the run-end processing), and stops it when other returns: the one call
// that puts schedules on the hook server's Lease.
func (s *Scheduler) With(other func(leading context.Context, stop <-chan struct{}) error) func(context.Context, <-chan struct{}) error {
	return func(leading context.Context, stop <-chan struct{}) error {
		ctx, cancel := context.WithCancel(leading)
		defer cancel()
		done := make(chan error, 1)
		go func() {
			err := s.Run(ctx, stop)
			if err != nil {
				s.cfg.Log.Error("scheduling stopped", "err", err.Error())
			}
			done <- err
		}()
		err := other(leading, stop)
		cancel()
		if serr := <-done; err == nil {
			err = serr
		}
		return err
	}
}

// Run schedules until leading ends or stop closes, then waits for the
// triggers in flight. Each time it starts (a new leader) it reads the
// slots runs recorded, so that no slot runs twice.
func (s *Scheduler) Run(leading context.Context, stop <-chan struct{}) error {
	ctx, cancel := context.WithCancel(leading)
	defer cancel()
	s.mu.Lock()
	s.defs, s.state, s.wake = map[string]*jobdef.Job{}, map[string]*entry{}, make(chan struct{}, 1)
	s.done, s.beatNow = map[string]time.Time{}, make(chan struct{}, 1)
	s.mu.Unlock()
	var synced []cache.InformerSynced
	for _, ns := range s.cfg.Namespaces {
		inf, handled, err := s.watch(ns)
		if err != nil {
			return err
		}
		synced = append(synced, handled)
		go inf.Run(ctx.Done())
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil
	}
	if err := s.readRuns(ctx); err != nil {
		return err
	}
	s.readHandled(ctx)
	s.cfg.Log.Info("scheduling", "namespaces", s.cfg.Namespaces)
	defer s.flight.Wait()
	// The first heartbeat is written before the first slot runs, so that
	// list shows schedules as run by a leader as soon as one runs any.
	written := map[string]*coordinationv1.Lease{}
	s.beatAll(ctx, written)
	nextBeat := s.cfg.Clock.Now().Add(s.cfg.Heartbeat)
	// The heartbeat stops before the triggers in flight are waited for.
	bctx, bcancel := context.WithCancel(ctx)
	beating := make(chan struct{})
	go func() { defer close(beating); s.heartbeats(bctx, written) }()
	defer func() { bcancel(); <-beating }()
	first := true
	for {
		now := s.cfg.Clock.Now()
		next := s.tick(ctx, now, first)
		first = false
		if !now.Before(nextBeat) {
			nextBeat = now.Add(s.cfg.Heartbeat)
			s.beatSoon()
		}
		wait := nextBeat.Sub(now)
		if !next.IsZero() {
			wait = min(next.Sub(now), wait)
		}
		timer := s.cfg.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-stop:
			timer.Stop()
			return nil
		case <-s.wake:
		case <-timer.C():
		}
		timer.Stop()
	}
}

// watch keeps s.defs to the valid definitions of ns and wakes the loop
// on every change: an edit takes effect at once.
// handled tells when the handler has seen every definition listed first.
func (s *Scheduler) watch(ns string) (inf cache.SharedIndexInformer, handled cache.InformerSynced, err error) {
	inf = coreinformers.NewFilteredSecretInformer(s.cfg.Client, ns, 0, cache.Indexers{}, func(o *metav1.ListOptions) {
		o.LabelSelector = jobdef.LabelKind + "=" + jobdef.KindJob
	})
	set := func(obj any) {
		sec, ok := obj.(*corev1.Secret)
		if !ok {
			return
		}
		def, err := jobdef.FromSecret(sec)
		if err == nil {
			err = def.CheckStored()
		}
		s.mu.Lock()
		id := sec.Namespace + "/" + sec.Name[len(jobdef.SecretPrefix):]
		if err != nil {
			delete(s.defs, id) // an invalid definition runs nothing
		} else {
			s.defs[id] = def
		}
		s.mu.Unlock()
		s.poke()
	}
	reg, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    set,
		UpdateFunc: func(_, obj any) { set(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if sec, ok := obj.(*corev1.Secret); ok && len(sec.Name) > len(jobdef.SecretPrefix) {
				s.mu.Lock()
				delete(s.defs, sec.Namespace+"/"+sec.Name[len(jobdef.SecretPrefix):])
				s.mu.Unlock()
				s.poke()
			}
		},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("watch job definitions: %w", err)
	}
	return inf, reg.HasSynced, nil
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// readRuns notes the latest slot each schedule's runs record (their
// idempotency keys): a new leader goes on after them. One paged list of
// runs per namespace.
func (s *Scheduler) readRuns(ctx context.Context) error {
	latest := map[string]time.Time{}
	for _, ns := range s.cfg.Namespaces {
		opts := metav1.ListOptions{LabelSelector: run.Selector(""), Limit: 500}
		for {
			list, err := s.cfg.Client.BatchV1().Jobs(ns).List(ctx, opts)
			if err != nil {
				return fmt.Errorf("list runs: %w", err)
			}
			for _, j := range list.Items {
				key := j.Annotations[run.AnnotationIdempotencyKey]
				if _, slot, ok := SlotOfKey(key); ok {
					id := j.Namespace + "/" + key[:len(key)-len(fmt.Sprint(slot.Unix()))]
					if slot.After(latest[id]) {
						latest[id] = slot
					}
				}
			}
			if opts.Continue = list.Continue; opts.Continue == "" {
				break
			}
		}
	}
	s.mu.Lock()
	s.fromRun = latest
	s.mu.Unlock()
	return nil
}

// tick handles every slot due at now and returns the earliest next slot.
// first: the leader just started, and schedules go on from their last run
// (or the definition's creation); a schedule seen later starts at now.
func (s *Scheduler) tick(ctx context.Context, now time.Time, first bool) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var earliest time.Time
	seen := map[string]bool{}
	for _, def := range s.defs {
		deadline, limited, _ := def.Spec.StartingDeadlineOf()
		if !limited {
			deadline = 0
		}
		for _, sc := range def.Spec.Schedules {
			if sc.Suspend {
				continue // resuming starts afresh: no burst of the suspended slots
			}
			id := def.Namespace + "/" + def.Name + "/" + sc.Name
			seen[id] = true
			slots, err := SlotsOf(sc)
			if err != nil {
				continue // validated: cannot happen
			}
			e := s.state[id]
			sig := string(def.UID) + "|" + sc.Cron + "|" + sc.TimeZone
			if e == nil || e.sig != sig {
				e = &entry{sig: sig, last: now}
				if first {
					e.last = s.baseline(def, sc)
				}
				s.state[id] = e
			}
			if now.Before(e.next) {
				earliest = earlier(earliest, e.next)
				continue
			}
			slot, missed, next := slots.Due(e.last, now, deadline)
			since := e.last
			e.last, e.next = now, next
			earliest = earlier(earliest, next)
			if missed > 0 {
				s.missed(ctx, def, sc.Name, missed, since, slot)
			}
			if !slot.IsZero() {
				s.start(ctx, def, sc, slot, deadline)
			}
		}
	}
	for id := range s.state {
		if !seen[id] {
			delete(s.state, id) // deleted, suspended or renamed: stops at once
		}
	}
	return earliest
}

// baseline is where a schedule goes on when the leader starts: after the
// latest slot its runs or the heartbeat record, else after the definition's creation.
func (s *Scheduler) baseline(def *jobdef.Job, sc jobdef.Schedule) time.Time {
	key := Key(string(def.UID), sc.Name, time.Unix(0, 0))
	id := def.Namespace + "/" + key[:len(key)-1]
	t, ok := s.fromRun[id]
	if done, found := s.done[id]; found && done.After(t) {
		t, ok = done, true
	}
	if ok {
		return t
	}
	return def.CreationTimestamp.Time
}

func earlier(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
