package run

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// A debug pod is a copy of a run's pod that waits instead of working, for
// a shell in the run's environment. It is labelled as the debug copy of
// its run, and never as one of the run's attempts: no LabelRun, none of
// the Job controller's labels, so neither `runs`, `logs` nor the Job
// controller count it. The run's Job owns it, so it goes with the run.
const (
	// LabelDebugOf is the run a debug pod copies.
	LabelDebugOf = jobdef.Group + "/debug-of"
	// KindDebug is the LabelKind of debug pods.
	KindDebug = "debug"
	// DefaultDebugTimeout is how long a debug pod lives by default.
	DefaultDebugTimeout = time.Hour
)

// DebugOptions shape a debug pod.
type DebugOptions struct {
	// Image replaces the run's image ("": the run's own).
	Image string
	// Timeout is how long the pod may live (its activeDeadlineSeconds and
	// the default command's sleep, in whole seconds); 0: DefaultDebugTimeout.
	Timeout time.Duration
	// Command replaces the default command (sleep for Timeout).
	Command []string
}

// Validate checks the image without any API request.
func (o DebugOptions) Validate() error {
	if o.Image != "" {
		if _, _, _, err := jobdef.SplitImage(o.Image); err != nil {
			return err
		}
	}
	return nil
}

func (o DebugOptions) timeout() time.Duration {
	if o.Timeout == 0 {
		return DefaultDebugTimeout
	}
	return o.Timeout
}

// CreateDebugPod creates the debug copy of run's pod, from the pod
// template of its Job (so it works when the run's pods are gone). Errors:
// NotFound (no such run), invalid options; nothing is created then.
func CreateDebugPod(ctx context.Context, client kubernetes.Interface, ns, run string, o DebugOptions) (*corev1.Pod, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	job, _, err := VerifiedRun(ctx, client, ns, run)
	if err != nil {
		return nil, err
	}
	pod, err := DebugPod(job, o)
	if err != nil {
		return nil, err
	}
	created, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{FieldManager: jobdef.ManagedBy})
	if err != nil {
		return nil, fmt.Errorf("create debug pod of run %s: %w", run, err)
	}
	return created, nil
}

// DebugPod builds the debug copy of the pod of job (a run's Job): the same
// spec (image, env, parameters, files, service account, pull secrets,
// resources), its first container's command replaced, restartPolicy
// Never, activeDeadlineSeconds the timeout, owned by job.
func DebugPod(job *batchv1.Job, o DebugOptions) (*corev1.Pod, error) {
	tmpl := job.Spec.Template
	if len(tmpl.Spec.Containers) == 0 {
		return nil, fmt.Errorf("run %s has no container to copy", job.Name)
	}
	secs := int64(o.timeout() / time.Second)
	labels := map[string]string{}
	for k, v := range tmpl.Labels {
		if !runLabel(k) {
			labels[k] = v
		}
	}
	labels[LabelDebugOf] = job.Name
	labels[LabelKind] = KindDebug
	labels[jobdef.LabelManagedBy] = jobdef.ManagedBy
	if j := job.Labels[LabelJob]; j != "" {
		labels[LabelJob] = j
	}
	spec := *tmpl.Spec.DeepCopy()
	spec.RestartPolicy = corev1.RestartPolicyNever
	spec.ActiveDeadlineSeconds = &secs
	c := &spec.Containers[0]
	c.Command, c.Args = []string{"sleep", strconv.FormatInt(secs, 10)}, nil
	if len(o.Command) > 0 {
		c.Command = append([]string(nil), o.Command...)
	}
	if o.Image != "" {
		c.Image = o.Image
	}
	c.LivenessProbe, c.ReadinessProbe, c.StartupProbe = nil, nil, nil
	name := job.Name + "-debug-"
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: name,
			Namespace:    job.Namespace,
			Labels:       labels,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
			}},
		},
		Spec: spec,
	}, nil
}

// runLabel reports whether a pod label of a run's template makes a pod one
// of the run's attempts (ours, Helm's, the Job controller's): a debug pod
// drops them. The job's own labels stay (network policies select them).
func runLabel(k string) bool {
	switch k {
	case "controller-uid", "job-name", "helm.sh/chart":
		return true
	}
	return strings.HasPrefix(k, jobdef.Group+"/") || strings.HasPrefix(k, "batch.kubernetes.io/") ||
		strings.HasPrefix(k, "app.kubernetes.io/")
}

// WaitDebugPod waits until the debug pod runs, and fails when it cannot
// start (its image cannot be pulled, its container cannot be created), it
// ended or it is gone. ctx bounds the wait; it reads the pod twice a second.
func WaitDebugPod(ctx context.Context, client kubernetes.Interface, ns, name string) (*corev1.Pod, error) {
	for {
		pod, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if ctx.Err() != nil {
			return nil, fmt.Errorf("debug pod %s did not start in time: %w", name, ctx.Err())
		}
		if err != nil {
			return nil, fmt.Errorf("debug pod %s: %w", name, err)
		}
		if done, err := debugPodReady(pod); done {
			return pod, err
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// debugPodReady: done once the pod runs (nil) or cannot (why).
func debugPodReady(p *corev1.Pod) (bool, error) {
	switch p.Status.Phase {
	case corev1.PodRunning:
		return true, nil
	case corev1.PodSucceeded, corev1.PodFailed:
		msg := p.Status.Message
		if t := lastTerminated(p); t != nil && msg == "" {
			msg = fmt.Sprintf("exit code %d (%s)", t.ExitCode, t.Reason)
		}
		return true, fmt.Errorf("debug pod %s ended (%s) before a shell could attach: %s", p.Name, p.Status.Phase, msg)
	}
	if w := waiting(p); w != nil {
		switch w.Reason {
		case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerError", "CreateContainerConfigError":
			return true, fmt.Errorf("debug pod %s cannot start: %s: %s", p.Name, w.Reason, w.Message)
		}
	}
	return false, nil
}

// DeleteDebugPod deletes debug pod name (one that never became ready; a
// ready one ends with its timeout or its run). It refuses a pod that is not
// a debug pod.
func DeleteDebugPod(ctx context.Context, client kubernetes.Interface, ns, name string) error {
	pod, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("read debug pod %s: %w", name, err)
	}
	if pod.Labels[LabelKind] != KindDebug {
		return fmt.Errorf("pod %s is not a debug pod of kubectl-shipjob", name)
	}
	if err := client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}}); err != nil {
		return fmt.Errorf("delete debug pod %s: %w", name, err)
	}
	return nil
}
