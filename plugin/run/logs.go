package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// LogOptions select what Logs prints.
type LogOptions struct {
	// Follow streams new output until the run has finished.
	Follow bool
	// AllAttempts prints every attempt (a header before each); otherwise
	// only the latest.
	AllAttempts bool
	// Timestamps prefixes lines with their time.
	Timestamps bool
	// TailLines limits each attempt to its last lines (0 = all).
	TailLines int64
	// Task, if set, prints only that task of a run of several tasks (its
	// pods alone are listed, by their completion index label).
	Task *int32
	// Settle is how long to keep reading after the run finished, for the
	// last lines to arrive (default 1s). Some kubelets (and KWOK) never end
	// a followed stream by themselves.
	Settle time.Duration
}

// ErrNoPodYet is (wrapped) the error of Logs without Follow for a run that
// has no pod yet.
var ErrNoPodYet = errors.New("no pod yet")

// Logs writes the logs of run to w.
func Logs(ctx context.Context, client kubernetes.Interface, ns, run string, opts LogOptions, w io.Writer) error {
	if _, _, err := VerifiedRun(ctx, client, ns, run); err != nil {
		return err
	}
	printed := map[string]bool{}
	for {
		pods, _, err := listTaskAttempts(ctx, client, ns, run, opts.Task)
		if err != nil {
			return err
		}
		if !opts.AllAttempts && len(pods) > 1 {
			// The latest attempt only (of each task).
			latest := map[string]string{}
			for _, p := range pods {
				latest[taskIndex(&p)] = p.Name
			}
			for _, p := range pods {
				if latest[taskIndex(&p)] != p.Name {
					printed[p.Name] = true
				}
			}
		}
		sortByTask(pods)
		for i, p := range pods {
			if printed[p.Name] {
				continue
			}
			out := w
			if task := taskIndex(&p); task != "" {
				// A run of several tasks: each line says its task.
				out = &prefixWriter{w: w, prefix: []byte("[task " + task + "] ")}
			}
			if opts.AllAttempts && len(pods) > 1 {
				fmt.Fprintf(w, "==> attempt %d (pod %s) <==\n", i+1, p.Name)
			}
			if err := streamPod(ctx, client, ns, run, p, opts, out); err != nil {
				return err
			}
			printed[p.Name] = true
		}
		if !opts.Follow {
			if len(pods) == 0 {
				return fmt.Errorf("run %s has %w", run, ErrNoPodYet)
			}
			return nil
		}
		st, jobRV, podsRV, err := get(ctx, client, ns, run)
		if err != nil {
			return err
		}
		if st.Phase.Finished() {
			// A retry may have created a pod after our list: print it too.
			if more, _, err := listTaskAttempts(ctx, client, ns, run, opts.Task); err == nil && len(more) == len(pods) {
				return nil
			}
			continue
		}
		// Wait for the next attempt or the end of the run.
		if err := waitEvent(ctx, client, ns, run, jobRV, podsRV, 5*time.Second); err != nil {
			return err
		}
	}
}

// streamPod copies one attempt's output. Following, it waits for the
// container to start and stops Settle after the container terminated.
func streamPod(ctx context.Context, client kubernetes.Interface, ns, run string, pod corev1.Pod, opts LogOptions, w io.Writer) error {
	pods := client.CoreV1().Pods(ns)
	if opts.Follow {
		for !started(&pod) {
			if podDone(&pod) {
				return nil // never started (e.g. deleted): nothing to print
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
			p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				return nil // the pod went away
			}
			pod = *p
		}
	}
	req := &corev1.PodLogOptions{Follow: opts.Follow && !terminated(&pod), Timestamps: opts.Timestamps}
	if opts.TailLines > 0 {
		req.TailLines = &opts.TailLines
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := pods.GetLogs(pod.Name, req).Stream(sctx)
	if err != nil {
		if !started(&pod) {
			return nil
		}
		return fmt.Errorf("logs of run %s (pod %s): %w", run, pod.Name, err)
	}
	defer stream.Close()
	if req.Follow {
		settle := opts.Settle
		if settle == 0 {
			settle = time.Second
		}
		go func() {
			for sctx.Err() == nil {
				p, err := pods.Get(sctx, pod.Name, metav1.GetOptions{})
				if err != nil || terminated(p) || p.DeletionTimestamp != nil {
					select {
					case <-time.After(settle):
					case <-sctx.Done():
					}
					cancel()
					return
				}
				select {
				case <-time.After(500 * time.Millisecond):
				case <-sctx.Done():
				}
			}
		}()
	}
	if _, err := io.Copy(w, stream); err != nil && sctx.Err() == nil {
		return fmt.Errorf("logs of run %s: %w", run, err)
	}
	return ctx.Err()
}

func started(p *corev1.Pod) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running != nil || cs.State.Terminated != nil {
			return true
		}
	}
	return false
}

func terminated(p *corev1.Pod) bool {
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return true
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Terminated == nil {
			return false
		}
	}
	return len(p.Status.ContainerStatuses) > 0
}

func podDone(p *corev1.Pod) bool {
	return p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}
