package schedule

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// AnnotationHandledSlots, on the heartbeat Lease, is the last slot the
// leader handled per schedule (run, found run, skipped or given up), as a
// JSON object from the idempotency key's prefix ("schedule:NAME:UID8:") to
// the slot's Unix seconds: a new leader goes on after it, so a slot skipped
// just before a leader change is not tried again.
const AnnotationHandledSlots = "shipjob.dev/handled-slots"

// Heartbeat defaults: renewed every 15s, valid for three renewals.
const (
	DefaultHeartbeat    = 15 * time.Second
	heartbeatTTLPerBeat = 3
)

// slotPrefix is the part of a slot's idempotency key that names its
// schedule: "schedule:NAME:UID8:".
func slotPrefix(def *jobdef.Job, name string) string {
	key := Key(string(def.UID), name, time.Unix(0, 0))
	return key[:len(key)-1]
}

// handled notes that slot of def's schedule name is done with; skipped
// slots are written to the heartbeat at once (no run records them).
func (s *Scheduler) handled(def *jobdef.Job, name string, slot time.Time, skipped bool) {
	id := def.Namespace + "/" + slotPrefix(def, name)
	s.mu.Lock()
	if slot.After(s.done[id]) {
		s.done[id] = slot
	}
	s.mu.Unlock()
	if skipped {
		s.beatSoon()
	}
}

func (s *Scheduler) beatSoon() {
	select {
	case s.beatNow <- struct{}{}:
	default:
	}
}

// readHandled adds the handled slots recorded on the heartbeat Leases of
// the namespaces with schedules to s.done (a Lease that cannot be read only
// loses that baseline: the runs' keys remain).
func (s *Scheduler) readHandled(ctx context.Context) {
	for _, ns := range s.scheduledNamespaces() {
		l, err := s.cfg.Client.CoordinationV1().Leases(ns).Get(ctx, HeartbeatLease, metav1.GetOptions{})
		if err != nil {
			if !apierrors.IsNotFound(err) {
				s.cfg.Log.Warn("heartbeat not read: skipped slots may be tried again", "namespace", ns, "err", err.Error())
			}
			continue
		}
		var slots map[string]int64
		if v := l.Annotations[AnnotationHandledSlots]; v != "" {
			if err := json.Unmarshal([]byte(v), &slots); err != nil {
				s.cfg.Log.Warn("heartbeat's handled slots unreadable", "namespace", ns, "err", err.Error())
			}
		}
		s.mu.Lock()
		for prefix, sec := range slots {
			if t := time.Unix(sec, 0); t.After(s.done[ns+"/"+prefix]) {
				s.done[ns+"/"+prefix] = t
			}
		}
		s.mu.Unlock()
	}
}

// scheduledNamespaces are the namespaces where a definition has schedules.
func (s *Scheduler) scheduledNamespaces() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, def := range s.defs {
		if len(def.Spec.Schedules) > 0 && !seen[def.Namespace] {
			seen[def.Namespace] = true
			out = append(out, def.Namespace)
		}
	}
	sort.Strings(out)
	return out
}

// heartbeats renews the heartbeat Lease of every namespace with schedules
// each time it is woken, until ctx ends (the lead is lost: no more writes).
// written holds each Lease as last written (see beatAll).
func (s *Scheduler) heartbeats(ctx context.Context, written map[string]*coordinationv1.Lease) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.beatNow:
		}
		s.beatAll(ctx, written)
	}
}

// beatAll renews the heartbeat of every namespace with schedules once.
func (s *Scheduler) beatAll(ctx context.Context, written map[string]*coordinationv1.Lease) {
	for _, ns := range s.scheduledNamespaces() {
		if ctx.Err() != nil {
			return
		}
		l, err := s.beat(ctx, ns, written[ns])
		if err != nil {
			s.cfg.Log.Warn("heartbeat not renewed", "namespace", ns, "err", err.Error())
		}
		written[ns] = l
	}
}

// beat writes ns's heartbeat: one update of the Lease as last written, or
// a read and a create or update the first time and after a conflict.
func (s *Scheduler) beat(ctx context.Context, ns string, prev *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	leases := s.cfg.Client.CoordinationV1().Leases(ns)
	for try := 0; try < 2; try++ {
		if prev == nil {
			got, err := leases.Get(ctx, HeartbeatLease, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				l, err := leases.Create(ctx, s.renewed(ns, &coordinationv1.Lease{}), metav1.CreateOptions{})
				if err == nil || !apierrors.IsAlreadyExists(err) {
					return l, wrapBeat(err)
				}
				continue
			case err != nil:
				return nil, wrapBeat(err)
			}
			prev = got
		}
		l, err := leases.Update(ctx, s.renewed(ns, prev), metav1.UpdateOptions{})
		if err == nil || !apierrors.IsConflict(err) {
			return l, wrapBeat(err)
		}
		prev = nil
	}
	return nil, fmt.Errorf("renew heartbeat: conflicting writers")
}

func wrapBeat(err error) error {
	if err != nil {
		return fmt.Errorf("renew heartbeat: %w", err)
	}
	return nil
}

// renewed is prev held by this replica now, with the handled slots of
// ns's current schedules.
func (s *Scheduler) renewed(ns string, prev *coordinationv1.Lease) *coordinationv1.Lease {
	l := prev.DeepCopy()
	l.Namespace, l.Name = ns, HeartbeatLease
	now := metav1.NewMicroTime(s.cfg.Clock.Now())
	id, ttl := s.cfg.Identity, int32(s.cfg.HeartbeatTTL/time.Second)
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != id {
		if l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
			n := int32(1)
			if l.Spec.LeaseTransitions != nil {
				n += *l.Spec.LeaseTransitions
			}
			l.Spec.LeaseTransitions = &n
		}
		l.Spec.HolderIdentity, l.Spec.AcquireTime = &id, &now
	}
	l.Spec.RenewTime, l.Spec.LeaseDurationSeconds = &now, &ttl
	if l.Annotations == nil {
		l.Annotations = map[string]string{}
	}
	l.Annotations[AnnotationHandledSlots] = s.handledJSON(ns)
	return l
}

// handledJSON is AnnotationHandledSlots for ns: the schedules it has now.
func (s *Scheduler) handledJSON(ns string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int64{}
	for _, def := range s.defs {
		if def.Namespace != ns {
			continue
		}
		for _, sc := range def.Spec.Schedules {
			p := slotPrefix(def, sc.Name)
			if t, ok := s.done[ns+"/"+p]; ok {
				out[p] = t.Unix()
			}
		}
	}
	b, _ := json.Marshal(out) // a map of strings to numbers: cannot fail
	return strings.TrimSpace(string(b))
}
