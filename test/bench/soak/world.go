package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"github.com/shipjob/kubectl-shipjob/test/bench/benchkit"
	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// jobName is the job of every namespace; image its image.
const (
	jobName = "soak"
	image   = "example.com/acme/sim:1"
)

// space is one namespace of the world and its job's definition.
type space struct {
	ns  string
	def *jobdef.Job
}

// makeWorld creates the namespaces and, with the real binary, a job in each
// whose notification goes to receiver/NS, then pre-fills runs processed
// runs across them. It checks that a driven run passes the run-end
// processor's check of a run (run.Verify), else nothing would be notified.
func makeWorld(ctx context.Context, c *cluster.Cluster, cs kubernetes.Interface, env []string, o options, receiver string) ([]space, error) {
	prefix := fmt.Sprintf("soak%d", time.Now().Unix()%100000)
	spaces := make([]space, o.namespaces)
	start := time.Now()
	err := parallel(o.namespaces, 8, func(i int) error {
		ns := fmt.Sprintf("%s-%03d", prefix, i)
		if err := c.CreateNamespace(ctx, ns); err != nil {
			return err
		}
		if out, err := benchkit.Command(env, o.plugin, "create", jobName, "-n", ns, "--image", image,
			"--notify", receiver+"/"+ns, "--retention", o.retention,
			"--max-active-runs", "0", "--max-runs-per-minute", "0").CombinedOutput(); err != nil {
			return fmt.Errorf("create job in %s: %w: %s", ns, err, out)
		}
		store := &jobdef.Store{Client: cs, Namespace: ns}
		def, err := store.Get(ctx, jobName)
		if err != nil {
			return err
		}
		img, err := store.ResolveImage(ctx, def, "")
		if err != nil {
			return err
		}
		probe := runJob(space{ns, def}, "soak-check00000", time.Now())
		probe.Namespace = ns
		if err := run.Verify(def, img, probe); err != nil {
			return fmt.Errorf("a driven run would not be processed: %w", err)
		}
		spaces[i] = space{ns, def}
		return nil
	})
	if err != nil {
		return nil, err
	}
	logf("created %d namespaces with a job each (kubectl-shipjob create) in %s", o.namespaces, time.Since(start).Round(time.Second))
	start = time.Now()
	var done atomic.Int64
	err = parallel(o.runs, 32, func(i int) error {
		sp := spaces[i%len(spaces)]
		if err := prefill(ctx, cs, sp, fmt.Sprintf("%s-p%09d", jobName, i), i, start); err != nil {
			return err
		}
		if n := done.Add(1); n%10000 == 0 {
			logf("pre-filled %d runs", n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pre-fill runs: %w", err)
	}
	logf("pre-filled %d processed runs in %s", o.runs, time.Since(start).Round(time.Second))
	return spaces, nil
}

// runJob is a run's Job as a trigger leaves it (labels, provenance, Helm's
// ownership, the pod template the run chart renders for the job), managed
// by a foreign controller so that the Job controller makes no pods.
func runJob(sp space, name string, triggered time.Time) *batchv1.Job {
	var ttl *int32
	if d, keep, err := sp.def.Spec.LongestRetention(); err == nil && keep {
		ttl = ptr(int32(d / time.Second)) // as the post-renderer sets it
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{run.LabelKind: run.KindRun, run.LabelJob: jobName, run.LabelRun: name},
			Annotations: map[string]string{run.AnnotationJobUID: string(sp.def.UID), run.AnnotationTriggeredBy: "user:soak",
				run.AnnotationTriggeredAt: triggered.UTC().Format(time.RFC3339), run.AnnotationImage: image,
				run.AnnotationParameters: "{}", run.AnnotationReleaseName: jobName, run.AnnotationReleaseNamespace: sp.ns,
				"helm.sh/resource-policy": "keep"}},
		Spec: batchv1.JobSpec{ManagedBy: ptr("shipjob.dev/soak"), BackoffLimit: new(int32), TTLSecondsAfterFinished: ttl, Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
				Name: "job", Image: image}}}}},
	}
}

// finish writes j's final status as the Job controller would: Complete
// (after SuccessCriteriaMet) or Failed (after FailureTarget).
func finish(ctx context.Context, cs kubernetes.Interface, j *batchv1.Job, started, ended time.Time, failed bool) error {
	t0, t1 := metav1.NewTime(started), metav1.NewTime(ended)
	j.Status = batchv1.JobStatus{StartTime: &t0, CompletionTime: &t1, Succeeded: 1, Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: t1},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: t1}}}
	if failed {
		j.Status = batchv1.JobStatus{StartTime: &t0, Failed: 1, Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, LastTransitionTime: t1, Reason: batchv1.JobReasonBackoffLimitExceeded},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, LastTransitionTime: t1, Reason: batchv1.JobReasonBackoffLimitExceeded}}}
	}
	_, err := cs.BatchV1().Jobs(j.Namespace).UpdateStatus(ctx, j, metav1.UpdateOptions{})
	return err
}

// prefill creates a run that ended before the soak and whose end the leader
// processed then (marked finished and ended, its notification delivered):
// one of the many a namespace keeps for their retention.
func prefill(ctx context.Context, cs kubernetes.Interface, sp space, name string, i int, now time.Time) error {
	t0 := now.Add(-time.Duration(i+600) * time.Second)
	j := runJob(sp, name, t0)
	j.Spec.TTLSecondsAfterFinished = nil // kept: the world stays for the soak
	outcome, failed := "succeeded", i%10 == 9
	if failed {
		outcome = "failed"
	}
	j.Labels[run.LabelFinished] = outcome
	j.Labels[run.LabelEnded] = "true"
	j.Annotations[run.AnnotationEnded] = t0.Add(4 * time.Second).UTC().Format(time.RFC3339)
	j.Annotations[run.AnnotationNotifications] = run.EncodeDeliveries([]run.Delivery{{Target: 0, State: run.DeliveryDelivered, Summary: "HTTP 200 after 1 try"}})
	created, err := cs.BatchV1().Jobs(sp.ns).Create(ctx, j, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	return finish(ctx, cs, created, t0, t0.Add(3*time.Second), failed)
}

// parallel runs fn(0..n-1), width at a time, and returns the first error.
func parallel(n, width int, fn func(i int) error) error {
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := range n {
		sem <- struct{}{}
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

func ptr[T any](v T) *T { return &v }
