package runend

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
//
// An unclaimed run is claimed as the cache has it: the claim is an update
// at the cached resourceVersion, so a cache behind the API server costs a
// conflict and a read, never a second claim. A claimed run's deliveries
// are decided on the run as the API server has it now (the cache may lag
// our own records of what was sent).
func (p *Processor) process(ctx context.Context, stop <-chan struct{}, jobs func(string) batchlisters.JobNamespaceLister, key string) (time.Duration, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil || p.sched.busy(key) { // its delivery task requeues it when done
		return 0, nil
	}
	job, err := jobs(ns).Get(name)
	if err != nil || !pendingEnd(job) {
		return 0, nil
	}
	if _, claimed := job.Annotations[run.AnnotationNotifications]; claimed {
		if job, err = p.fresh(ctx, job); job == nil || err != nil {
			return 0, err
		}
	}
	after, err := p.processRead(ctx, stop, key, job)
	if apierrors.IsConflict(err) {
		// The cache was behind: once more, as the API server has it.
		if job, err = p.fresh(ctx, job); job == nil || err != nil {
			return 0, err
		}
		return p.processRead(ctx, stop, key, job)
	}
	return after, err
}

// fresh reads job from the API server: nil if it is gone or its end is
// processed.
func (p *Processor) fresh(ctx context.Context, job *batchv1.Job) (*batchv1.Job, error) {
	j, err := p.cfg.Client.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", job.Name, err)
	}
	if !pendingEnd(j) {
		return nil, nil
	}
	return j, nil
}

// processRead is process of job as read (from the cache when unclaimed).
func (p *Processor) processRead(ctx context.Context, stop <-chan struct{}, key string, job *batchv1.Job) (time.Duration, error) {
	ns, name := job.Namespace, job.Name
	store := p.store(ns)
	// Only a run of its job as it exists is processed (review N7): a Job
	// anyone labelled as a run gets no TTL, notification, Event or metric.
	def, defErr := run.VerifyJobIn(ctx, store, job)
	if defErr != nil {
		if !run.IsNotARun(defErr) && !apierrors.IsNotFound(defErr) && !jobdef.IsInvalid(defErr) {
			return 0, defErr // retried
		}
		p.cfg.Log.Warn("not processed: not a run of an existing, valid job", "namespace", ns, "run", name, "err", defErr.Error())
		return 0, nil
	}
	st, err := run.EndStatus(ctx, p.cfg.Client, job)
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
	// deliveries of this pass.
	keys := signingKeysOnce(ctx, store, def)
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

// store reads the job definitions (and their signing secrets, registries)
// of namespace ns, from the cache of them while it has them.
func (p *Processor) store(ns string) *jobdef.Store {
	s := &jobdef.Store{Client: p.cfg.Client, Namespace: ns}
	if l, ok := p.secrets[ns]; ok {
		s.Cached = l.Secrets(ns)
	} else if l, ok := p.secrets[""]; ok {
		s.Cached = l.Secrets(ns)
	}
	return s
}

// signingKeysOnce reads the signing keys of def's job when first called
// and answers every later call with what that read gave.
func signingKeysOnce(ctx context.Context, store *jobdef.Store, def *jobdef.Job) func() (jobdef.SigningKeys, error) {
	var keys jobdef.SigningKeys
	var err error
	read := false
	return func() (jobdef.SigningKeys, error) {
		if !read {
			read = true
			keys, err = store.SigningKeys(ctx, def.Name)
		}
		return keys, err
	}
}
