package run

import (
	"errors"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func endedJob(name string) *batchv1.Job {
	ttl := int32(999)
	return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", ResourceVersion: "1",
		Labels: map[string]string{LabelKind: KindRun}}, Spec: batchv1.JobSpec{TTLSecondsAfterFinished: &ttl}}
}

// TestClaimEnd: the TTL is set, dropped or left; without deliveries the run
// is ended in the same write; the write is conditional on the version read.
func TestClaimEnd(t *testing.T) {
	hour := time.Hour
	cases := map[string]struct {
		claim EndClaim
		ttl   *int32
		ended bool
	}{
		"ttl, a delivery": {EndClaim{SetTTL: true, TTL: &hour, Deliveries: []Delivery{{State: DeliveryPending}}}, new(int32(3600)), false},
		"kept forever":    {EndClaim{SetTTL: true}, nil, true},
		"ttl left":        {EndClaim{}, new(int32(999)), true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cs := fake.NewClientset(endedJob("r"))
			job, _ := cs.BatchV1().Jobs("ns").Get(t.Context(), "r", metav1.GetOptions{})
			out, err := ClaimEnd(t.Context(), cs, job, tc.claim)
			if err != nil {
				t.Fatal(err)
			}
			if (out.Spec.TTLSecondsAfterFinished == nil) != (tc.ttl == nil) || tc.ttl != nil && *out.Spec.TTLSecondsAfterFinished != *tc.ttl {
				t.Errorf("ttl %v, want %v", out.Spec.TTLSecondsAfterFinished, tc.ttl)
			}
			if ended := out.Annotations[AnnotationEnded] != "" && out.Labels[LabelEnded] == "true"; ended != tc.ended {
				t.Errorf("ended %v, want %v: %v %v", ended, tc.ended, out.Annotations, out.Labels)
			}
			if ds, err := ParseDeliveries(out.Annotations[AnnotationNotifications]); err != nil || len(ds) != len(tc.claim.Deliveries) {
				t.Errorf("deliveries %v %v", ds, err)
			}
			if job.Annotations[AnnotationNotifications] != "" {
				t.Error("the Job read was changed")
			}
		})
	}
}

// TestClaimEndIsConditional: the claim is written at the resourceVersion
// read (of two leaders one gets a conflict); RecordDeliveries re-reads
// after a conflict and writes again.
func TestClaimEndIsConditional(t *testing.T) {
	cs := fake.NewClientset(endedJob("r"))
	var rvs []string
	conflicts := 0
	cs.PrependReactor("update", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		rvs = append(rvs, a.(k8stesting.UpdateAction).GetObject().(*batchv1.Job).ResourceVersion)
		if conflicts > 0 {
			conflicts--
			return true, nil, apierrors.NewConflict(batchv1.Resource("jobs"), "r", errors.New("changed"))
		}
		return false, nil, nil
	})
	job, _ := cs.BatchV1().Jobs("ns").Get(t.Context(), "r", metav1.GetOptions{})
	job.ResourceVersion = "7"
	conflicts = 1
	if _, err := ClaimEnd(t.Context(), cs, job, EndClaim{}); !apierrors.IsConflict(err) || len(rvs) != 1 || rvs[0] != "7" {
		t.Errorf("claim: %v at %v, want one conditional update and its conflict", err, rvs)
	}
	rvs, conflicts = nil, 1
	out, err := RecordDeliveries(t.Context(), cs, job, []Delivery{{State: DeliveryDelivered}}, true)
	if err != nil || len(rvs) != 2 || rvs[0] != "7" || rvs[1] == "7" || out.Labels[LabelEnded] != "true" {
		t.Errorf("record: %v at %v, want a retry on the version read again", err, rvs)
	}
}

// TestRecordDeliveries: nil keeps the deliveries recorded; a run deleted
// meanwhile is no error.
func TestRecordDeliveries(t *testing.T) {
	cs := fake.NewClientset(endedJob("r"))
	job, _ := cs.BatchV1().Jobs("ns").Get(t.Context(), "r", metav1.GetOptions{})
	ds := []Delivery{{State: DeliveryDelivered, Tries: 1}}
	out, err := RecordDeliveries(t.Context(), cs, job, ds, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := ParseDeliveries(out.Annotations[AnnotationNotifications]); len(got) != 1 || got[0].State != DeliveryDelivered || out.Annotations[AnnotationEnded] != "" {
		t.Errorf("deliveries %+v, annotations %v", got, out.Annotations)
	}
	out, err = RecordDeliveries(t.Context(), cs, out, nil, true)
	if err != nil || out.Labels[LabelEnded] != "true" || out.Annotations[AnnotationNotifications] != EncodeDeliveries(ds) {
		t.Errorf("ended: %v %+v", err, out.ObjectMeta)
	}
	_ = cs.BatchV1().Jobs("ns").Delete(t.Context(), "r", metav1.DeleteOptions{})
	job.ResourceVersion = ""
	if got, err := RecordDeliveries(t.Context(), cs, job, ds, true); err != nil || got != job {
		t.Errorf("deleted run: %v %v", got, err)
	}
}
