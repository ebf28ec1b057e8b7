package run

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// LeasePrefix names the per-job Lease that serializes triggers across
// processes: Helm has no lock of its own, and two upgrades of one release at
// once fail with "another operation is in progress".
const LeasePrefix = "shipjob-trigger-"

// leaseDuration is how long a holder that stopped renewing keeps the lock
// (a killed trigger). Holders renew every leaseDuration/3.
const leaseDuration = 10 * time.Second

// locker acquires per-job Leases. Inside one process, triggers of one job
// first queue on a mutex so only one of them polls the API server.
type locker struct {
	client   kubernetes.Interface
	identity string
	local    sync.Map // namespace/job -> chan struct{} (a semaphore of one)
}

func newLocker(client kubernetes.Interface) *locker {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &locker{client: client, identity: fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))}
}

// lock blocks until this process holds the job's Lease (or ctx ends) and
// returns the function that releases it. While held, the Lease is renewed.
func (l *locker) lock(ctx context.Context, namespace, job string) (unlock func(), err error) {
	sem, _ := l.local.LoadOrStore(namespace+"/"+job, make(chan struct{}, 1))
	local := sem.(chan struct{})
	if err := lockCtx(ctx, local); err != nil {
		return nil, err
	}
	leases := l.client.CoordinationV1().Leases(namespace)
	name := LeasePrefix + job
	holder := l.identity + "-" + randomSuffix()
	var held *coordinationv1.Lease
	for held == nil {
		lease, err := leases.Get(ctx, name, metav1.GetOptions{})
		now := metav1.NewMicroTime(time.Now())
		switch {
		case apierrors.IsNotFound(err):
			var out *coordinationv1.Lease
			if out, err = leases.Create(ctx, newLease(name, holder, now), metav1.CreateOptions{}); err == nil {
				held = out
			} else if apierrors.IsAlreadyExists(err) {
				continue
			}
		case err != nil:
		case free(lease, now.Time):
			lease.Spec.HolderIdentity = &holder
			lease.Spec.AcquireTime, lease.Spec.RenewTime = &now, &now
			lease.Spec.LeaseDurationSeconds = ptrTo(int32(leaseDuration / time.Second))
			var out *coordinationv1.Lease
			if out, err = leases.Update(ctx, lease, metav1.UpdateOptions{}); err == nil {
				held = out
			} else if apierrors.IsConflict(err) {
				continue
			}
		default:
			err = l.waitChange(ctx, namespace, lease)
		}
		if err != nil {
			<-local
			return nil, fmt.Errorf("lock job %s for triggering: %w", job, err)
		}
	}
	renewCtx, stopRenew := context.WithCancel(context.WithoutCancel(ctx))
	renewed := make(chan *coordinationv1.Lease, 1)
	go func() {
		cur := held
		defer func() { renewed <- cur }()
		t := time.NewTicker(leaseDuration / 3)
		defer t.Stop()
		for {
			select {
			case <-renewCtx.Done():
				return
			case <-t.C:
				now := metav1.NewMicroTime(time.Now())
				next := cur.DeepCopy()
				next.Spec.RenewTime = &now
				if out, err := leases.Update(renewCtx, next, metav1.UpdateOptions{}); err == nil {
					cur = out
				}
			}
		}
	}()
	return func() {
		stopRenew()
		cur := <-renewed
		cur.Spec.HolderIdentity = nil
		cur.Spec.RenewTime = nil
		// Best effort: if this fails the Lease simply expires.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = leases.Update(ctx, cur, metav1.UpdateOptions{})
		<-local
	}, nil
}

// waitChange returns when the Lease changes or may have expired. Watch
// errors are not fatal: the caller reads the Lease again.
func (l *locker) waitChange(parent context.Context, namespace string, lease *coordinationv1.Lease) error {
	wait := time.Until(expiry(lease)) + 50*time.Millisecond
	wait = max(min(wait, leaseDuration), 50*time.Millisecond)
	ctx, cancel := context.WithTimeout(parent, wait)
	defer cancel()
	w, err := l.client.CoordinationV1().Leases(namespace).Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", lease.Name).String(),
		ResourceVersion: lease.ResourceVersion,
	})
	if err == nil {
		select {
		case <-w.ResultChan():
		case <-ctx.Done():
		}
		w.Stop()
	} else {
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	return parent.Err()
}

func newLease(name, holder string, now metav1.MicroTime) *coordinationv1.Lease {
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{LabelKind: "trigger-lock"}},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       &holder,
			LeaseDurationSeconds: ptrTo(int32(leaseDuration / time.Second)),
			AcquireTime:          &now,
			RenewTime:            &now,
		},
	}
}

// free reports whether nobody holds the Lease or its holder stopped renewing.
func free(l *coordinationv1.Lease, now time.Time) bool {
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		return true
	}
	return now.After(expiry(l))
}

func expiry(l *coordinationv1.Lease) time.Time {
	if l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return time.Time{}
	}
	return l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second)
}

func lockCtx(ctx context.Context, sem chan struct{}) error {
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for another trigger of this job in this process: %w", ctx.Err())
	}
}

func randomSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func ptrTo[T any](v T) *T { return &v }
