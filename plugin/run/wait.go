package run

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// WaitOptions tune Wait.
type WaitOptions struct {
	// PullTimeout ends the wait when the image could not be pulled for this
	// long (the run keeps retrying in the cluster until its timeout).
	PullTimeout time.Duration
	// OnChange is called with every new status (message or phase change).
	OnChange func(Status)
}

// Wait blocks until run finished, its image pull failed for
// opts.PullTimeout, or ctx ends. It watches the run's Job and pods instead
// of polling.
func Wait(ctx context.Context, client kubernetes.Interface, ns, run string, opts WaitOptions) (Status, error) {
	var last Status
	var pullSince time.Time
	for {
		st, jobRV, podsRV, err := get(ctx, client, ns, run)
		if err != nil {
			return last, err
		}
		if opts.OnChange != nil && (st.Phase != last.Phase || st.Message != last.Message) {
			opts.OnChange(st)
		}
		last = st
		if st.Phase.Finished() {
			return st, nil
		}
		wait := 10 * time.Second
		if st.Reason == ReasonImagePull && opts.PullTimeout > 0 {
			if pullSince.IsZero() {
				pullSince = time.Now()
			}
			left := opts.PullTimeout - time.Since(pullSince)
			if left <= 0 {
				return st, nil
			}
			wait = min(wait, left)
		} else {
			pullSince = time.Time{}
		}
		if st.Phase == Running && st.Reason == "" && st.Message != "" {
			// "Running for 12s" (Ticking) changes every second without an
			// event; the other plain running states are short.
			wait = min(wait, time.Second)
		}
		if err := waitEvent(ctx, client, ns, run, jobRV, podsRV, wait); err != nil {
			return last, err
		}
	}
}

// waitEvent returns after the first change of the run's Job or pods since
// the given resource versions, or after at most d.
func waitEvent(ctx context.Context, client kubernetes.Interface, ns, run, jobRV, podsRV string, d time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	jw, err := client.BatchV1().Jobs(ns).Watch(wctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", run).String(), ResourceVersion: jobRV})
	if err == nil {
		defer jw.Stop()
	}
	pw, err2 := client.CoreV1().Pods(ns).Watch(wctx, metav1.ListOptions{
		LabelSelector: LabelRun + "=" + run, ResourceVersion: podsRV})
	if err2 == nil {
		defer pw.Stop()
	}
	if err != nil || err2 != nil {
		// Fall back to polling; a persistent API error shows up in get.
		select {
		case <-wctx.Done():
		case <-time.After(time.Second):
		}
		return ctx.Err()
	}
	select {
	case <-jw.ResultChan():
	case <-pw.ResultChan():
	case <-wctx.Done():
	}
	return ctx.Err()
}
