package runend

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/notify"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// Config is what a Processor works with.
type Config struct {
	Client kubernetes.Interface
	// Namespaces whose runs are processed ("" alone: all).
	Namespaces []string
	Sender     *notify.Sender
	Policy     notify.Policy
	Log        *slog.Logger
	Metrics    *Metrics
	// StatusURL, if set, is the link to a run's status in notifications.
	StatusURL func(run string) string
	// Identity names this replica in Events (reportingInstance).
	Identity string
	// Workers send the notifications of this many runs at once (default
	// 16), shared fairly: namespaces and their jobs take turns, a namespace
	// holds at most 3/4 of them and a job at most half (review N5).
	Workers int
	// PerRun is how many tries of one run's notifications go out at once
	// (default 4).
	PerRun int
}

// Processor handles the end of runs. Run it only while leading (Lead).
type Processor struct {
	cfg     Config
	breaker *breaker
	// Set by Run, for its workers: the fair queue of deliveries and how a
	// run goes back to the run-end queue.
	sched   *fairQueue
	requeue func(key string, after time.Duration, err error)
}

// claimWorkers process this many runs' ends (TTL, Event, metrics) at once.
const claimWorkers = 4

// New returns a Processor.
func New(cfg Config) *Processor {
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.PerRun <= 0 {
		cfg.PerRun = 4
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	// 5 failed tries in a row back a host off for 30s, doubling to 5m.
	return &Processor{cfg: cfg, breaker: newBreaker(5, 30*time.Second, 5*time.Minute, 4096)}
}

// Run processes runs that ended (and those that ended while no leader
// ran) until leading ends (every try stops, nothing more is written) or
// stop is closed (tries in flight finish and are recorded, retries wait for
// the next leader). It returns when its workers have.
func (p *Processor) Run(leading context.Context, stop <-chan struct{}) error {
	ctx, cancel := context.WithCancel(leading)
	defer cancel()
	queue := workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Second, 5*time.Minute),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "runend"})
	defer queue.ShutDown()
	p.sched = newFairQueue(p.cfg.Workers, p.cfg.Workers*3/4, p.cfg.Workers/2)
	p.requeue = func(key string, after time.Duration, err error) {
		switch {
		case err == nil && after > 0:
			queue.AddAfter(key, after)
		case err == nil, ctx.Err() != nil:
		default:
			p.cfg.Log.Warn("run end not processed, retrying", "run", key, "err", err.Error())
			queue.AddRateLimited(key)
		}
	}
	listers := map[string]batchlisters.JobLister{}
	var synced []cache.InformerSynced
	for _, ns := range p.cfg.Namespaces {
		// Only runs whose end is not processed yet: the cache stays small
		// however many runs their retention keeps.
		inf := batchinformers.NewFilteredJobInformer(p.cfg.Client, ns, 0, cache.Indexers{}, func(o *metav1.ListOptions) {
			o.LabelSelector = run.Selector("") + ",!" + run.LabelEnded
		})
		enqueue := func(obj any) {
			if j, ok := obj.(*batchv1.Job); ok && pendingEnd(j) {
				queue.Add(j.Namespace + "/" + j.Name)
			}
		}
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    enqueue,
			UpdateFunc: func(_, obj any) { enqueue(obj) },
		}); err != nil {
			return fmt.Errorf("watch runs: %w", err)
		}
		if err := p.watchDefinitions(ctx, ns); err != nil {
			return err
		}
		listers[ns] = batchlisters.NewJobLister(inf.GetIndexer())
		synced = append(synced, inf.HasSynced)
		go inf.Run(ctx.Done())
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return ctx.Err()
	}
	p.restoreGauges(ctx)
	p.cfg.Log.Info("processing run ends", "namespaces", p.cfg.Namespaces)
	lister := func(ns string) batchlisters.JobNamespaceLister {
		if l, ok := listers[ns]; ok {
			return l.Jobs(ns)
		}
		return listers[""].Jobs(ns)
	}
	go func() {
		select {
		case <-stop:
		case <-ctx.Done():
		}
		queue.ShutDownWithDrain()
	}()
	var wg sync.WaitGroup
	for range claimWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				key, quit := queue.Get()
				if quit {
					return
				}
				after, err := p.process(ctx, stop, lister, key)
				switch {
				case err == nil && after > 0: // a retry is due then: no worker waits for it
					queue.Forget(key)
					queue.AddAfter(key, after)
				case err == nil:
					queue.Forget(key)
				case ctx.Err() != nil:
				default:
					p.cfg.Log.Warn("run end not processed, retrying", "run", key, "err", err.Error())
					queue.AddRateLimited(key)
				}
				queue.Done(key)
			}
		}()
	}
	wg.Wait()
	p.sched.stop() // queued deliveries wait for the next leader; tries in flight finish
	return nil
}

// pendingEnd reports whether j is a finished run not fully processed.
func pendingEnd(j *batchv1.Job) bool {
	return j.Annotations[run.AnnotationEnded] == "" && j.Labels[run.LabelEnded] == "" && j.DeletionTimestamp == nil &&
		(run.JobCondition(j, batchv1.JobComplete) != nil || run.JobCondition(j, batchv1.JobFailed) != nil)
}

func outcomeOf(p run.Phase) notify.Outcome {
	switch p {
	case run.Succeeded:
		return notify.Succeeded
	case run.Cancelled:
		return notify.Cancelled
	}
	return notify.Failed
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
	if _, claimed := job.Annotations[run.AnnotationNotifications]; !claimed {
		if job, err = p.claim(ctx, job, def, outcome); err != nil {
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
	return p.deliverDue(ctx, stop, key, job, def, st, outcome, deliveries, log)
}

// definition is the run's job definition, checked like every stored input,
// if job is a run of it as it exists (run.VerifyJob).
func (p *Processor) definition(ctx context.Context, job *batchv1.Job) (*jobdef.Job, error) {
	return run.VerifyJob(ctx, p.cfg.Client, job)
}

// claim sets the run's TTL by its outcome and its notifications (all
// pending) in one update at the resourceVersion read: of two leaders (an
// old one not yet stopped), one wins and the other re-reads.
func (p *Processor) claim(ctx context.Context, job *batchv1.Job, def *jobdef.Job, outcome notify.Outcome) (*batchv1.Job, error) {
	j := job.DeepCopy()
	var ds []run.Delivery
	if def != nil {
		if ttl, keep, err := def.Spec.RetentionOf(outcome); err == nil {
			if keep {
				secs := int32(ttl / time.Second)
				j.Spec.TTLSecondsAfterFinished = &secs
			} else {
				j.Spec.TTLSecondsAfterFinished = nil
			}
		}
		var secret []byte
		for i, n := range def.Spec.Notifications {
			if !n.Notifies(outcome) {
				continue
			}
			if secret == nil {
				store := &jobdef.Store{Client: p.cfg.Client, Namespace: j.Namespace}
				var err error
				if secret, err = store.SigningSecret(ctx, def.Name); err != nil {
					return nil, err // retried: the Secret may be there later
				}
			}
			ds = append(ds, run.Delivery{Target: i, State: run.DeliveryPending, URLHash: urlHash(secret, n.URL)})
		}
	}
	if j.Annotations == nil {
		j.Annotations = map[string]string{}
	}
	j.Annotations[run.AnnotationNotifications] = run.EncodeDeliveries(ds)
	if len(ds) == 0 { // nothing to send: ended in the same write
		j.Annotations[run.AnnotationEnded] = time.Now().UTC().Format(time.RFC3339)
		if j.Labels == nil {
			j.Labels = map[string]string{}
		}
		j.Labels[run.LabelEnded] = "true"
	}
	out, err := p.cfg.Client.BatchV1().Jobs(j.Namespace).Update(ctx, j, metav1.UpdateOptions{FieldManager: jobdef.ManagedBy})
	if err != nil {
		return nil, fmt.Errorf("record the end of run %s: %w", j.Name, err)
	}
	return out, nil
}

// record writes deliveries (and with ended, AnnotationEnded) on the run,
// re-reading it after a conflict (its status changes under us).
func (p *Processor) record(ctx context.Context, job *batchv1.Job, ds []run.Delivery, ended bool) (*batchv1.Job, error) {
	jobs := p.cfg.Client.BatchV1().Jobs(job.Namespace)
	var out *batchv1.Job
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		j := job.DeepCopy()
		if out != nil || j.ResourceVersion == "" {
			fresh, err := jobs.Get(ctx, job.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			j = fresh
		}
		if j.Annotations == nil {
			j.Annotations = map[string]string{}
		}
		if ds != nil {
			j.Annotations[run.AnnotationNotifications] = run.EncodeDeliveries(ds)
		}
		if ended {
			j.Annotations[run.AnnotationEnded] = time.Now().UTC().Format(time.RFC3339)
			if j.Labels == nil {
				j.Labels = map[string]string{}
			}
			j.Labels[run.LabelEnded] = "true"
		}
		var err error
		out, err = jobs.Update(ctx, j, metav1.UpdateOptions{FieldManager: jobdef.ManagedBy})
		if err != nil {
			out = j // the next try re-reads
		}
		return err
	})
	if apierrors.IsNotFound(err) {
		return job, nil // deleted meanwhile: nothing to record on
	}
	if err != nil {
		return nil, fmt.Errorf("record the notifications of run %s: %w", job.Name, err)
	}
	return out, nil
}

func (p *Processor) markEnded(ctx context.Context, job *batchv1.Job, ds []run.Delivery) error {
	_, err := p.record(ctx, job, ds, true)
	return err
}

// recordEnd emits the run's Event and counts it (once: after the claim).
func (p *Processor) recordEnd(ctx context.Context, job *batchv1.Job, st run.Status, outcome notify.Outcome, log *slog.Logger) {
	p.cfg.Metrics.finished(job.Namespace, st, outcome)
	if err := p.event(ctx, job, st, outcome); err != nil {
		log.Warn("event not recorded", "err", err.Error())
	}
	log.Info("run ended", "message", st.Message)
}

// event records the run's end on its Job (kubectl get events, describe).
func (p *Processor) event(ctx context.Context, job *batchv1.Job, st run.Status, outcome notify.Outcome) error {
	reason, typ := "RunSucceeded", corev1.EventTypeNormal
	switch outcome {
	case notify.Failed:
		reason, typ = "RunFailed", corev1.EventTypeWarning
	case notify.Cancelled:
		reason = "RunCancelled"
	}
	now := metav1.Now()
	msg := fmt.Sprintf("Run %s of job %s %s: %s", job.Name, st.Job, outcome, st.Message)
	if len(msg) > 1024 {
		msg = msg[:1024]
	}
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", job.Name, now.UnixNano()), Namespace: job.Namespace},
		InvolvedObject: corev1.ObjectReference{APIVersion: "batch/v1", Kind: "Job", Namespace: job.Namespace, Name: job.Name,
			UID: job.UID, ResourceVersion: job.ResourceVersion},
		Reason: reason, Message: msg, Type: typ,
		Source:         corev1.EventSource{Component: "shipjob-hooks"},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		ReportingController: "shipjob.dev/hooks", ReportingInstance: p.cfg.Identity, Action: "End",
	}
	_, err := p.cfg.Client.CoreV1().Events(job.Namespace).Create(ctx, ev, metav1.CreateOptions{})
	return err
}

// restoreGauges sets the last-run gauges from the runs ended before (a
// new leader knows the last outcome of each job without waiting for a
// run): one paged list of the processed runs per namespace.
func (p *Processor) restoreGauges(ctx context.Context) {
	for _, ns := range p.cfg.Namespaces {
		opts := metav1.ListOptions{LabelSelector: run.Selector("") + "," + run.LabelEnded, Limit: 500}
		for {
			list, err := p.cfg.Client.BatchV1().Jobs(ns).List(ctx, opts)
			if err != nil {
				p.cfg.Log.Warn("last outcomes not restored", "namespace", ns, "err", err.Error())
				break
			}
			for i := range list.Items {
				st := run.Compute(&list.Items[i], nil, time.Now())
				if st.Phase.Finished() {
					p.cfg.Metrics.last(list.Items[i].Namespace, st, outcomeOf(st.Phase))
				}
			}
			if opts.Continue = list.Continue; opts.Continue == "" {
				break
			}
		}
	}
}
