package runend

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/notify"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// Delivery of a run's notifications (review N5). The run-end queue only
// claims runs (TTL, Event, metrics: a few API requests each) and hands a
// run whose notifications are due to the fair queue, so no claim waits
// behind a receiver. There a run's due tries go out in parallel (at most
// PerRun at once), each recorded on the run as it completes; namespaces and
// jobs take turns for the Workers slots, within caps.

// deliverDue settles the deliveries whose notification left the job, then
// hands the run to the fair queue when a try is due. It returns how long
// until the next try is due when none is now (0: none left, or the queued
// task requeues the run when it is done).
func (p *Processor) deliverDue(ctx context.Context, stop <-chan struct{}, key string, job *batchv1.Job, def *jobdef.Job,
	st run.Status, outcome jobdef.Outcome, deliveries []run.Delivery, signingKeys func() (jobdef.SigningKeys, error), log *slog.Logger) (time.Duration, error) {
	var keys jobdef.SigningKeys
	if def != nil && slices.ContainsFunc(deliveries, func(d run.Delivery) bool { return !d.Final() }) {
		var err error
		if keys, err = signingKeys(); err != nil {
			return 0, err // retried: the Secret may be there later
		}
	}
	var next time.Duration
	due, changed := false, false
	for i, d := range deliveries {
		if d.Final() {
			continue
		}
		if def == nil || d.Target >= len(def.Spec.Notifications) || !hashMatches(keys, def.Spec.Notifications[d.Target].URL, d.URLHash) {
			deliveries[i] = run.Delivery{Target: d.Target, State: run.DeliveryFailed, Summary: "the notification was removed from the job before it was sent", Tries: d.Tries, URLHash: d.URLHash}
			changed = true
			continue
		}
		if wait := time.Until(ptrTime(d.NextTry)); wait > 0 {
			next = minPositive(next, wait)
			continue
		}
		due = true
	}
	if changed {
		var err error
		if job, err = p.record(ctx, job, deliveries, false); err != nil {
			return 0, err
		}
	}
	if !slices.ContainsFunc(deliveries, func(d run.Delivery) bool { return !d.Final() }) {
		return 0, p.markEnded(ctx, job, deliveries)
	}
	if !due {
		return max(next, time.Millisecond), nil
	}
	select {
	case <-stop: // stopping: the next leader tries
		return 0, nil
	default:
	}
	p.sched.add(task{ns: job.Namespace, job: st.Job, key: key, run: func() {
		after, err := p.sendDue(ctx, stop, job, def, st, outcome, deliveries, keys, log)
		p.requeue(key, after, err)
	}})
	return 0, nil
}

// sendDue makes one try of each due delivery of a run, at most PerRun at
// once, recording each on the run as it completes. It returns how long
// until the next try is due (0: none left, and the run is marked ended).
func (p *Processor) sendDue(ctx context.Context, stop <-chan struct{}, job *batchv1.Job, def *jobdef.Job,
	st run.Status, outcome jobdef.Outcome, deliveries []run.Delivery, keys jobdef.SigningKeys, log *slog.Logger) (time.Duration, error) {
	var err error
	type result struct {
		i    int
		d    run.Delivery
		sent bool
	}
	results := make(chan result)
	slots := make(chan struct{}, p.cfg.PerRun)
	var wg sync.WaitGroup
	var next time.Duration
	for i, d := range deliveries {
		if d.Final() {
			continue
		}
		if wait := time.Until(ptrTime(d.NextTry)); wait > 0 {
			next = minPositive(next, wait)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				results <- result{i: i}
				return
			}
			defer func() { <-slots }()
			select {
			case <-stop: // stopping: the next leader tries
				results <- result{i: i}
				return
			default:
			}
			results <- result{i: i, d: p.try(ctx, job, def, st, outcome, def.Spec.Notifications[d.Target], d, keys, log), sent: true}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	var recordErr error
	stopped, ended := false, false
	for r := range results {
		if !r.sent {
			stopped = true
			continue
		}
		if ctx.Err() != nil || recordErr != nil {
			continue // lost the lead mid-try: not recorded, the next leader sends
		}
		deliveries[r.i] = r.d
		if r.d.Final() {
			p.cfg.Metrics.notified(job.Namespace, st.Job, r.d.State)
		} else {
			next = minPositive(next, time.Until(*r.d.NextTry))
		}
		// The record that makes every delivery final also marks the run
		// ended: one write, not two.
		ended = !slices.ContainsFunc(deliveries, func(d run.Delivery) bool { return !d.Final() })
		if job, err = p.record(ctx, job, deliveries, ended); err != nil {
			recordErr = err
		}
	}
	switch {
	case ctx.Err() != nil:
		return 0, ctx.Err()
	case recordErr != nil:
		return 0, recordErr
	case stopped, ended:
		return 0, nil
	}
	if slices.ContainsFunc(deliveries, func(d run.Delivery) bool { return !d.Final() }) {
		return max(next, time.Millisecond), nil
	}
	return 0, p.markEnded(ctx, job, deliveries)
}

func ptrTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func minPositive(a, b time.Duration) time.Duration {
	if a <= 0 || b < a {
		return b
	}
	return a
}

// urlHash tells whether a delivery's notification is still the one at its
// index in the definition. It is keyed with the job's signing secret, so
// that who can read Jobs cannot test guesses of a webhook URL (review N8).
func urlHash(secret []byte, u string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("shipjob-url-hash:" + u))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// hashMatches: h is u's hash under the current secret, or under the
// previous one while it is kept (a rotation during a run's retries).
func hashMatches(k jobdef.SigningKeys, u, h string) bool {
	for _, s := range [][]byte{k.Current, k.Previous} {
		if len(s) > 0 && hmac.Equal([]byte(urlHash(s, u)), []byte(h)) {
			return true
		}
	}
	return false
}

// hostOf is the host (and port) of a webhook URL, the breaker's key.
func hostOf(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host)
}

// errBackedOff is the try not made while a receiver's host is backed off.
var errBackedOff = errors.New("not sent: the receiver's host failed several tries in a row; backing off")

// try makes one try of one notification and returns d as it then is:
// final (delivered, refused, failed for good or after its last try), or
// pending with the time of the next try. Every try of it sends the same
// body and delivery id. A host backed off by the breaker costs a try
// without a request.
func (p *Processor) try(ctx context.Context, job *batchv1.Job, def *jobdef.Job, st run.Status,
	outcome jobdef.Outcome, n jobdef.Notification, d run.Delivery, keys jobdef.SigningKeys, log *slog.Logger) run.Delivery {
	ev := notify.Event{Job: def.Name, Run: job.Name, Namespace: job.Namespace, Outcome: string(outcome), ExitCode: st.ExitCode,
		Message: st.Message, Parameters: st.Parameters, Image: st.Image, TriggeredBy: st.TriggeredBy,
		DeliveryID: string(job.UID) + "-" + fmt.Sprint(d.Target)}
	if st.Started != nil {
		ev.StartedAt = *st.Started
	}
	if st.Finished != nil {
		ev.FinishedAt = *st.Finished
		if st.Started != nil {
			ev.Duration = st.Finished.Sub(*st.Started).Seconds()
		}
	}
	if p.cfg.StatusURL != nil {
		ev.StatusURL = p.cfg.StatusURL(job.Name)
	}
	d.NextTry = nil
	body, ctype, err := notify.Body(n.Format, ev)
	if err != nil {
		d.State, d.Summary = run.DeliveryFailed, err.Error()
		return d
	}
	host := hostOf(n.URL)
	var a notify.Attempt
	if p.breaker.allow(job.Namespace, host, time.Now()) {
		now := time.Now()
		headers := map[string]string{notify.HeaderDelivery: ev.DeliveryID, notify.HeaderTimestamp: strconv.FormatInt(now.Unix(), 10),
			notify.HeaderSignature: notify.SignatureHeader(keys.Active(now), n.URL, now, ev.DeliveryID, body)}
		a = p.cfg.Sender.Send(ctx, n.URL, body, ctype, headers)
		if ctx.Err() != nil {
			return d
		}
		p.breaker.result(job.Namespace, host, a, time.Now())
		p.cfg.Metrics.attempt(a)
	} else {
		a = notify.Attempt{Err: errBackedOff, Retryable: true}
	}
	d.Tries++
	switch {
	case a.Err == nil:
		d.State, d.Summary = run.DeliveryDelivered, fmt.Sprintf("HTTP %d after %d %s", a.Status, d.Tries, plural(d.Tries, "try", "tries"))
		log.Info("notification delivered", "target", d.Target, "tries", d.Tries)
	case a.Refused:
		d.State, d.Summary = run.DeliveryRefused, a.Err.Error()
		log.Warn("notification refused", "target", d.Target, "err", a.Err.Error())
	case !a.Retryable:
		d.State, d.Summary = run.DeliveryFailed, a.Err.Error()
		log.Warn("notification failed", "target", d.Target, "err", a.Err.Error())
	case d.Tries >= p.cfg.Policy.Tries:
		d.State, d.Summary = run.DeliveryFailed, fmt.Sprintf("failed after %d tries: %s", d.Tries, a.Err.Error())
		log.Warn("notification failed", "target", d.Target, "tries", d.Tries, "err", a.Err.Error())
	default:
		at := time.Now().Add(p.cfg.Policy.Delay(d.Tries + 1)).UTC()
		d.Summary, d.NextTry = a.Err.Error(), &at
		log.Info("notification try failed", "target", d.Target, "try", d.Tries, "next", at, "err", a.Err.Error())
	}
	return d
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
