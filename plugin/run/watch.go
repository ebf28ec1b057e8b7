package run

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// Watch calls changed with the name of a run of namespace ns each time its
// Job or one of its pods changes (created, updated, deleted), until ctx
// ends. It starts at the current state: runs that do not change are not
// reported. One watch of Jobs and one of pods serve every run of the
// namespace; a watch the API server ends is resumed where it stopped.
// The first error (e.g. Forbidden) is returned before anything is watched;
// later errors only delay a resumption. changed is called from two
// goroutines at once. changed("") means any run may have changed: the
// watch expired (410 Gone: the API server no longer has its
// resourceVersion) and started over from a fresh list, so what changed
// between its end and that list is not known by name.
func Watch(ctx context.Context, client kubernetes.Interface, ns string, changed func(run string)) error {
	return WatchFrom(ctx, client, ns, nil, changed)
}

// WatchFrom is Watch that calls started (unless nil) once it has read the
// state it starts from, before it reports any change: what a caller reads
// after started misses no change.
func WatchFrom(ctx context.Context, client kubernetes.Interface, ns string, started func(), changed func(run string)) error {
	sel := metav1.ListOptions{LabelSelector: LabelRun, Limit: 1}
	jobs := func(ctx context.Context, o metav1.ListOptions) (string, watch.Interface, error) {
		if o.ResourceVersion == "" {
			l, err := client.BatchV1().Jobs(ns).List(ctx, sel)
			if err != nil {
				return "", nil, fmt.Errorf("list runs: %w", err)
			}
			return l.ResourceVersion, nil, nil
		}
		w, err := client.BatchV1().Jobs(ns).Watch(ctx, o)
		return "", w, err
	}
	pods := func(ctx context.Context, o metav1.ListOptions) (string, watch.Interface, error) {
		if o.ResourceVersion == "" {
			l, err := client.CoreV1().Pods(ns).List(ctx, sel)
			if err != nil {
				return "", nil, fmt.Errorf("list pods of runs: %w", err)
			}
			return l.ResourceVersion, nil, nil
		}
		w, err := client.CoreV1().Pods(ns).Watch(ctx, o)
		return "", w, err
	}
	jobsRV, _, err := jobs(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	podsRV, _, err := pods(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	if started != nil {
		started()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		follow(ctx, pods, podsRV, changed)
	}()
	follow(ctx, jobs, jobsRV, changed)
	<-done
	return nil
}

// watchFunc lists (no ResourceVersion: returns the current one) or
// watches (from o.ResourceVersion).
type watchFunc func(ctx context.Context, o metav1.ListOptions) (string, watch.Interface, error)

// follow watches from rv until ctx ends, resuming after the API server
// closes the watch and starting over from a fresh list when rv expired,
// which it reports as changed("") once that list is read.
func follow(ctx context.Context, f watchFunc, rv string, changed func(string)) {
	for ctx.Err() == nil {
		if rv == "" {
			var err error
			if rv, _, err = f(ctx, metav1.ListOptions{}); err != nil {
				pause(ctx, time.Second)
				continue
			}
			changed("")
		}
		_, w, err := f(ctx, metav1.ListOptions{LabelSelector: LabelRun, ResourceVersion: rv, AllowWatchBookmarks: true})
		if err != nil {
			if apierrors.IsGone(err) || apierrors.IsResourceExpired(err) {
				rv = ""
			}
			pause(ctx, time.Second)
			continue
		}
		rv = drain(ctx, w, rv, changed)
	}
}

// drain reports the events of w until it ends; it returns the
// resourceVersion to resume from ("" to list again).
func drain(ctx context.Context, w watch.Interface, rv string, changed func(string)) string {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return rv
		case ev, ok := <-w.ResultChan():
			if !ok {
				return rv
			}
			if ev.Type == watch.Error {
				if s := apierrors.FromObject(ev.Object); apierrors.IsGone(s) || apierrors.IsResourceExpired(s) {
					return ""
				}
				return rv
			}
			m, err := meta.Accessor(ev.Object)
			if err != nil {
				continue
			}
			rv = m.GetResourceVersion()
			if ev.Type == watch.Bookmark {
				continue
			}
			if name := m.GetLabels()[LabelRun]; name != "" {
				changed(name)
			}
		}
	}
}

func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
