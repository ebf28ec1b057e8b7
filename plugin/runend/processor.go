package runend

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

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
	// secrets is the cache of the Secrets a run's end reads, by namespace
	// ("" when all are watched), set by watchRuns.
	secrets map[string]corelisters.SecretLister
	ended   endedHere
}

// claimWorkers process this many runs' ends (TTL, Event, metrics) at once.
// Each claim is a few API requests in a row, so the leader claims at most
// claimWorkers / (their sum) runs a second: with 4 it fell behind 50 run
// ends a second over 100 namespaces (BENCHMARKS.md, "Soak").
const claimWorkers = 16

// runQueue is the run-end queue: keys "namespace/run" of runs whose end
// may be left to process.
type runQueue = workqueue.TypedRateLimitingInterface[string]

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
	lister, err := p.watchRuns(ctx, queue)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	// The last outcomes of the jobs are restored alongside: a list of every
	// ended run (50,000 in the soak) does not hold up the run ends.
	restoring, restored := context.WithCancel(ctx)
	wg.Go(func() { p.restoreGauges(restoring) })
	p.cfg.Log.Info("processing run ends", "namespaces", p.cfg.Namespaces)
	go func() {
		select {
		case <-stop:
		case <-ctx.Done():
		}
		restored()
		queue.ShutDownWithDrain()
	}()
	for range claimWorkers {
		wg.Go(func() { p.work(ctx, stop, queue, lister) })
	}
	wg.Wait()
	p.sched.stop() // queued deliveries wait for the next leader; tries in flight finish
	return nil
}

// watchRuns starts an informer of the runs of each namespace whose end is
// not processed yet (and the watch of their definitions), queues those
// that finished, and returns their cache once it is synced.
func (p *Processor) watchRuns(ctx context.Context, queue runQueue) (func(ns string) batchlisters.JobNamespaceLister, error) {
	listers := map[string]batchlisters.JobLister{}
	p.secrets = map[string]corelisters.SecretLister{}
	var synced []cache.InformerSynced
	for _, ns := range p.cfg.Namespaces {
		// Only runs whose end is not processed yet: the cache stays small
		// however many runs their retention keeps.
		inf := batchinformers.NewFilteredJobInformer(p.cfg.Client, ns, 0, cache.Indexers{}, func(o *metav1.ListOptions) {
			o.LabelSelector = run.Selector("") + ",!" + run.LabelEnded
		})
		if err := inf.SetTransform(dropManagedFields); err != nil {
			return nil, fmt.Errorf("watch runs: %w", err)
		}
		enqueue := func(obj any) {
			if j, ok := obj.(*batchv1.Job); ok && pendingEnd(j) {
				queue.Add(j.Namespace + "/" + j.Name)
			}
		}
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    enqueue,
			UpdateFunc: func(_, obj any) { enqueue(obj) },
			DeleteFunc: p.deleted,
		}); err != nil {
			return nil, fmt.Errorf("watch runs: %w", err)
		}
		secrets, err := p.watchDefinitions(ctx, ns)
		if err != nil {
			return nil, err
		}
		p.secrets[ns] = corelisters.NewSecretLister(secrets.GetIndexer())
		listers[ns] = batchlisters.NewJobLister(inf.GetIndexer())
		synced = append(synced, inf.HasSynced, secrets.HasSynced)
		go inf.Run(ctx.Done())
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil, ctx.Err()
	}
	return func(ns string) batchlisters.JobNamespaceLister {
		if l, ok := listers[ns]; ok {
			return l.Jobs(ns)
		}
		return listers[""].Jobs(ns)
	}, nil
}

// deleted counts a finished run deleted before its end was recorded (the
// cache holds runs not ended only; the mark that ends a run takes it out of
// the watch with a "deleted" event of the run as it was before: endedHere).
// A deletion the watch did not see (a tombstone after a relist) is not
// counted: its last state known may be from before its end was recorded.
func (p *Processor) deleted(obj any) {
	j, ok := obj.(*batchv1.Job)
	if !ok || p.ended.take(j) || j.Annotations[run.AnnotationEnded] != "" || j.Labels[run.LabelEnded] != "" ||
		run.JobCondition(j, batchv1.JobComplete) == nil && run.JobCondition(j, batchv1.JobFailed) == nil {
		return
	}
	p.cfg.Metrics.missedEnd(j.Namespace)
	p.cfg.Log.Warn("run deleted before its end was recorded", "namespace", j.Namespace, "run", j.Name)
}

// dropManagedFields is the informers' transform: the record of which
// client set which field is never read here and is a large part of each
// cached object (a backlog of finished runs is held whole). An update sent
// without it (the claim from the cache) keeps the server's.
func dropManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// work processes runs from queue until it shuts down.
func (p *Processor) work(ctx context.Context, stop <-chan struct{}, queue runQueue, lister func(string) batchlisters.JobNamespaceLister) {
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
}
