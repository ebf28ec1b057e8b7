package runend

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// The state machine of one run's end, every state on its Job: finished
// (pendingEnd) → claimed (TTL set, AnnotationNotifications with every
// delivery pending; Event and metrics follow) → each delivery final →
// ended (AnnotationEnded, LabelEnded: not looked at again). A run with
// nothing to send goes from finished to ended in the claim.

// pendingEnd reports whether j is a finished run not fully processed.
func pendingEnd(j *batchv1.Job) bool {
	return j.Annotations[run.AnnotationEnded] == "" && j.Labels[run.LabelEnded] == "" && j.DeletionTimestamp == nil &&
		(run.JobCondition(j, batchv1.JobComplete) != nil || run.JobCondition(j, batchv1.JobFailed) != nil)
}

func outcomeOf(p run.Phase) jobdef.Outcome {
	switch p {
	case run.Succeeded:
		return jobdef.OutcomeSucceeded
	case run.Cancelled:
		return jobdef.OutcomeCancelled
	}
	return jobdef.OutcomeFailed
}

// process does what is left for one run: first its end (TTL, the claim of
// its notifications, Event, metrics: once, by a conditional update), then
// hands its due notifications to the fair queue (deliverDue). It returns
// how long until the next try is due (0: none left, or its delivery task
// requeues it).
func (p *Processor) process(ctx context.Context, stop <-chan struct{}, jobs func(string) batchlisters.JobNamespaceLister, key string) (time.Duration, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil || p.sched.busy(key) { // its delivery task requeues it when done
		return 0, nil
	}
	if cached, err := jobs(ns).Get(name); err != nil || !pendingEnd(cached) {
		return 0, nil
	}
	// The cache only says when to look: what was sent is decided on the
	// run as the API server has it now (the cache may lag our own writes).
	job, err := p.cfg.Client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read run %s: %w", name, err)
	}
	if !pendingEnd(job) {
		return 0, nil
	}
	// Only a run of its job as it exists is processed (review N7): a Job
	// anyone labelled as a run gets no TTL, notification, Event or metric.
	def, defErr := p.definition(ctx, job)
	if defErr != nil {
		if !run.IsNotARun(defErr) && !apierrors.IsNotFound(defErr) && !jobdef.IsInvalid(defErr) {
			return 0, defErr // retried
		}
		p.cfg.Log.Warn("not processed: not a run of an existing, valid job", "namespace", ns, "run", name, "err", defErr.Error())
		return 0, nil
	}
	st, err := run.StatusOf(ctx, p.cfg.Client, job)
	if err != nil {
		return 0, err
	}
	outcome := outcomeOf(st.Phase)
	log := p.cfg.Log.With("namespace", ns, "run", name, "job", st.Job, "outcome", string(outcome))

	deliveries, err := run.ParseDeliveries(job.Annotations[run.AnnotationNotifications])
	if err != nil {
		log.Warn("notification state unreadable: not notifying again", "err", err.Error())
		return 0, p.markEnded(ctx, job, nil)
	}
	// The job's signing keys are read once for the claim and the
	// deliveries of this pass (one GET less per run end).
	keys := signingKeysOnce(ctx, p.cfg.Client, job.Namespace, def)
	if _, claimed := job.Annotations[run.AnnotationNotifications]; !claimed {
		if job, err = p.claim(ctx, job, def, outcome, keys); err != nil {
			return 0, err
		}
		p.recordEnd(ctx, job, st, outcome, log)
		if job.Labels[run.LabelEnded] != "" {
			return 0, nil
		}
		if deliveries, err = run.ParseDeliveries(job.Annotations[run.AnnotationNotifications]); err != nil {
			return 0, err
		}
	}
	return p.deliverDue(ctx, stop, key, job, def, st, outcome, deliveries, keys, log)
}

// signingKeysOnce reads the signing keys of def's job when first called
// and answers every later call with what that read gave.
func signingKeysOnce(ctx context.Context, client kubernetes.Interface, ns string, def *jobdef.Job) func() (jobdef.SigningKeys, error) {
	var keys jobdef.SigningKeys
	var err error
	read := false
	return func() (jobdef.SigningKeys, error) {
		if !read {
			read = true
			keys, err = (&jobdef.Store{Client: client, Namespace: ns}).SigningKeys(ctx, def.Name)
		}
		return keys, err
	}
}

// definition is the run's job definition, checked like every stored input,
// if job is a run of it as it exists (run.VerifyJob).
func (p *Processor) definition(ctx context.Context, job *batchv1.Job) (*jobdef.Job, error) {
	return run.VerifyJob(ctx, p.cfg.Client, job)
}
