package schedule

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/kubernetes"
)

// HeartbeatLease is the Lease the leading scheduler renews in each served
// namespace that has schedules: the one place a user of that namespace can
// see whether schedules run there (the hook server's own Lease may be in a
// namespace the user cannot read).
const HeartbeatLease = "shipjob-schedules"

// LeaderState is whether a hook server runs the schedules of a namespace.
type LeaderState struct {
	Leading bool
	// Holder is the identity of the server that renews (or renewed) the
	// heartbeat, "" when none did.
	Holder string
	// Reason says why schedules do not run ("" when Leading).
	Reason string
}

// Leading reads the heartbeat Lease of namespace at now: absent, without
// holder, or not renewed within its duration, nothing runs the schedules
// there. A Lease the user may not read counts as leading (nothing honest to
// say); any other error is returned with a leading state, so that a caller
// that ignores it raises no false alarm.
func Leading(ctx context.Context, client kubernetes.Interface, namespace string, now time.Time) (LeaderState, error) {
	l, err := client.CoordinationV1().Leases(namespace).Get(ctx, HeartbeatLease, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return LeaderState{Reason: "no hook server has run schedules here"}, nil
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
		return LeaderState{Leading: true}, nil
	case err != nil:
		return LeaderState{Leading: true}, fmt.Errorf("read lease %s/%s: %w", namespace, HeartbeatLease, err)
	}
	holder := ""
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	if holder == "" || l.Spec.RenewTime == nil {
		return LeaderState{Reason: "no hook server runs schedules here (the heartbeat has no holder)"}, nil
	}
	ttl := 15 * time.Second
	if l.Spec.LeaseDurationSeconds != nil && *l.Spec.LeaseDurationSeconds > 0 {
		ttl = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	renewed := l.Spec.RenewTime.Time
	if now.After(renewed.Add(ttl)) {
		return LeaderState{Holder: holder, Reason: "the hook server that runs schedules here stopped renewing " +
			duration.HumanDuration(now.Sub(renewed)) + " ago (" + holder + ")"}, nil
	}
	return LeaderState{Leading: true, Holder: holder}, nil
}
