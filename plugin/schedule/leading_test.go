package schedule

import (
	"context"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func heartbeat(holder string, renew time.Time, secs int32) *coordinationv1.Lease {
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: HeartbeatLease}}
	if holder != "" {
		l.Spec.HolderIdentity = &holder
	}
	if !renew.IsZero() {
		l.Spec.RenewTime = &metav1.MicroTime{Time: renew}
	}
	if secs > 0 {
		l.Spec.LeaseDurationSeconds = &secs
	}
	return l
}

func TestLeading(t *testing.T) {
	now := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		lease   *coordinationv1.Lease
		leading bool
		holder  string
		reason  string
	}{
		{"absent", nil, false, "", "no hook server has run schedules here"},
		{"renewed", heartbeat("hooks-0", now.Add(-10*time.Second), 45), true, "hooks-0", ""},
		{"at the limit", heartbeat("hooks-0", now.Add(-45*time.Second), 45), true, "hooks-0", ""},
		{"stale", heartbeat("hooks-0", now.Add(-3*time.Minute), 45), false, "hooks-0", "stopped renewing 3m ago (hooks-0)"},
		{"released", heartbeat("", now, 45), false, "", "the heartbeat has no holder"},
		{"never renewed", heartbeat("hooks-0", time.Time{}, 45), false, "", "the heartbeat has no holder"},
		{"no duration: 15s", heartbeat("hooks-0", now.Add(-20*time.Second), 0), false, "hooks-0", "stopped renewing 20s ago"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset()
			if tc.lease != nil {
				cs = fake.NewClientset(tc.lease)
			}
			got, err := Leading(context.Background(), cs, "apps", now)
			if err != nil {
				t.Fatal(err)
			}
			if got.Leading != tc.leading || got.Holder != tc.holder || !strings.Contains(got.Reason, tc.reason) || (tc.reason == "") != (got.Reason == "") {
				t.Errorf("Leading = %+v, want leading %v holder %q reason ~%q", got, tc.leading, tc.holder, tc.reason)
			}
		})
	}
}

func TestLeadingUnreadable(t *testing.T) {
	gr := schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}
	for _, tc := range []struct {
		err     error
		wantErr bool
	}{
		{apierrors.NewForbidden(gr, HeartbeatLease, nil), false},
		{apierrors.NewUnauthorized("no"), false},
		{apierrors.NewServiceUnavailable("down"), true},
	} {
		cs := fake.NewClientset()
		cs.PrependReactor("get", "leases", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, tc.err })
		got, err := Leading(context.Background(), cs, "apps", time.Now())
		if !got.Leading || got.Reason != "" || (err != nil) != tc.wantErr {
			t.Errorf("%v: Leading = %+v, %v; want leading, error %v", tc.err, got, err, tc.wantErr)
		}
	}
}
