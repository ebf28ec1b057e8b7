package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// Event reasons on the job's definition Secret.
const (
	ReasonScheduled = "RunScheduled"
	ReasonSkipped   = "ScheduleSkipped"
	ReasonMissed    = "ScheduleMissed"
)

// start triggers the run of slot in the background (the loop goes on).
func (s *Scheduler) start(ctx context.Context, def *jobdef.Job, sc jobdef.Schedule, slot time.Time, deadline time.Duration) {
	s.flight.Add(1)
	go func() {
		defer s.flight.Done()
		s.runSlot(ctx, def, sc, slot, deadline)
	}()
}

// runSlot triggers slot's run, trying again on failures other than a
// refusal while the slot is within its deadline (at most 5 tries): the
// idempotency key makes a retry find the run a try made.
func (s *Scheduler) runSlot(ctx context.Context, def *jobdef.Job, sc jobdef.Schedule, slot time.Time, deadline time.Duration) {
	log := s.cfg.Log.With("namespace", def.Namespace, "job", def.Name, "schedule", sc.Name, "slot", slot.UTC().Format(time.RFC3339))
	params, err := s.params(ctx, def, sc)
	if err != nil {
		s.record(ctx, def, "missed", ReasonMissed, corev1.EventTypeWarning, fmt.Sprintf("schedule %s: slot %s not run: %v", sc.Name, stamp(slot), err))
		log.Warn("slot not run", "err", err.Error())
		return
	}
	req := run.Request{Namespace: def.Namespace, Job: def.Name, Params: params, TriggeredBy: TriggeredBy(sc.Name),
		IdempotencyKey: Key(string(def.UID), sc.Name, slot), JobUID: def.UID}
	pause := s.cfg.Retry
	for try := 1; ; try++ {
		res, err := s.cfg.Trigger(ctx, req)
		switch {
		case err == nil && res.Unchanged:
			log.Info("slot had run already", "run", res.Run)
			s.handled(def, sc.Name, slot, false)
			return
		case err == nil:
			lag := s.cfg.Clock.Since(slot)
			s.cfg.Metrics.lagged(lag)
			s.record(ctx, def, "triggered", ReasonScheduled, corev1.EventTypeNormal,
				fmt.Sprintf("schedule %s: run %s for slot %s (%.1fs late)", sc.Name, res.Run, stamp(slot), lag.Seconds()))
			log.Info("slot run", "run", res.Run, "lag", lag.Seconds())
			s.handled(def, sc.Name, slot, false)
			return
		case run.IsConflict(err):
			s.record(ctx, def, "skipped", ReasonSkipped, corev1.EventTypeNormal, fmt.Sprintf("schedule %s: slot %s skipped: %v", sc.Name, stamp(slot), err))
			log.Info("slot skipped", "reason", err.Error())
			s.handled(def, sc.Name, slot, true)
			return
		}
		var replaced *run.ReplacedError
		final := ctx.Err() != nil || run.IsInput(err) || errors.As(err, &replaced) || jobdef.IsInvalid(err) || try == 5 ||
			(deadline > 0 && s.cfg.Clock.Since(slot)+pause > deadline)
		if final {
			if ctx.Err() == nil {
				s.handled(def, sc.Name, slot, false)
				s.record(ctx, def, "missed", ReasonMissed, corev1.EventTypeWarning, fmt.Sprintf("schedule %s: slot %s not run: %v", sc.Name, stamp(slot), err))
			}
			log.Warn("slot not run", "err", err.Error(), "tries", try)
			return
		}
		log.Warn("trigger failed, trying again", "err", err.Error(), "in", pause.String())
		select {
		case <-ctx.Done():
		case <-s.cfg.Clock.After(pause):
		}
		pause *= 2
	}
}

// params are the values of the schedule's runs; a secret parameter's
// value is read from its Secret now.
func (s *Scheduler) params(ctx context.Context, def *jobdef.Job, sc jobdef.Schedule) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range sc.Parameters {
		if p.SecretRef == nil {
			out[p.Name] = p.Value
			continue
		}
		sec, err := s.cfg.Client.CoreV1().Secrets(def.Namespace).Get(ctx, p.SecretRef.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("secret parameter %s: %w", p.Name, err)
		}
		v, ok := sec.Data[p.SecretRef.Key]
		if !ok {
			return nil, fmt.Errorf("secret parameter %s: secret %s has no key %s", p.Name, p.SecretRef.Name, p.SecretRef.Key)
		}
		out[p.Name] = string(v)
	}
	return out, nil
}

// missed records slots passed over: one Event and the count, however many.
func (s *Scheduler) missed(ctx context.Context, def *jobdef.Job, name string, n int, since, running time.Time) {
	s.cfg.Metrics.count(def.Namespace, def.Name, "missed", n)
	msg := fmt.Sprintf("schedule %s: %d slot(s) after %s missed (beyond the starting deadline or older than the most recent)", name, n, stamp(since))
	if !running.IsZero() {
		msg += "; running the slot of " + stamp(running)
	}
	s.flight.Add(1)
	go func() {
		defer s.flight.Done()
		s.event(ctx, def, ReasonMissed, corev1.EventTypeWarning, msg)
	}()
	s.cfg.Log.Warn("slots missed", "namespace", def.Namespace, "job", def.Name, "schedule", name, "count", n)
}

func (s *Scheduler) record(ctx context.Context, def *jobdef.Job, outcome, reason, typ, msg string) {
	s.cfg.Metrics.count(def.Namespace, def.Name, outcome, 1)
	s.event(ctx, def, reason, typ, msg)
}

// event records on the job's definition Secret (kubectl get events).
func (s *Scheduler) event(ctx context.Context, def *jobdef.Job, reason, typ, msg string) {
	now := metav1.NewTime(s.cfg.Clock.Now())
	name := jobdef.SecretName(def.Name)
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x%02x", name, now.UnixNano(), s.eventSeq.Add(1)%256), Namespace: def.Namespace},
		InvolvedObject: corev1.ObjectReference{APIVersion: "v1", Kind: "Secret", Namespace: def.Namespace, Name: name,
			UID: def.UID},
		Reason: reason, Message: msg, Type: typ,
		Source:         corev1.EventSource{Component: "shipjob-hooks"},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		ReportingController: "shipjob.dev/hooks", ReportingInstance: s.cfg.Identity, Action: "Schedule",
	}
	if _, err := s.cfg.Client.CoreV1().Events(def.Namespace).Create(context.WithoutCancel(ctx), ev, metav1.CreateOptions{}); err != nil {
		s.cfg.Log.Warn("event not recorded", "reason", reason, "err", err.Error())
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
