package run

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// The writes of a run's end on its Job (plugin/runend decides them, the
// leading hook server makes them): the claim, then each delivery's state,
// then the mark that everything is done.

// EndClaim is the first write of a run's end: its TTL by outcome and the
// notifications it owes.
type EndClaim struct {
	// SetTTL replaces the run's TTL with TTL (nil: kept until deleted);
	// without it the TTL stays as it is.
	SetTTL bool
	TTL    *time.Duration
	// Deliveries are the notifications to send (pending); with none the
	// run is marked ended in the same write.
	Deliveries []Delivery
}

// ClaimEnd writes c on run job in one update at the resourceVersion job was
// read at: of two leaders (an old one not yet stopped), one wins and the
// other gets a conflict and re-reads.
func ClaimEnd(ctx context.Context, client kubernetes.Interface, job *batchv1.Job, c EndClaim) (*batchv1.Job, error) {
	j := job.DeepCopy()
	if c.SetTTL {
		j.Spec.TTLSecondsAfterFinished = nil
		if c.TTL != nil {
			secs := int32(*c.TTL / time.Second)
			j.Spec.TTLSecondsAfterFinished = &secs
		}
	}
	if j.Annotations == nil {
		j.Annotations = map[string]string{}
	}
	j.Annotations[AnnotationNotifications] = EncodeDeliveries(c.Deliveries)
	if len(c.Deliveries) == 0 { // nothing to send: ended in the same write
		markEnded(j)
	}
	out, err := client.BatchV1().Jobs(j.Namespace).Update(ctx, j, metav1.UpdateOptions{FieldManager: jobdef.ManagedBy})
	if err != nil {
		return nil, fmt.Errorf("record the end of run %s: %w", j.Name, err)
	}
	return out, nil
}

// RecordDeliveries writes ds (unless nil) on run job and, with ended, marks
// it ended (AnnotationEnded, LabelEnded), re-reading it after a conflict
// (its status changes meanwhile). A run deleted meanwhile is returned as
// given: there is nothing to record on.
func RecordDeliveries(ctx context.Context, client kubernetes.Interface, job *batchv1.Job, ds []Delivery, ended bool) (*batchv1.Job, error) {
	jobs := client.BatchV1().Jobs(job.Namespace)
	var out *batchv1.Job
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		j := job.DeepCopy()
		if out != nil || j.ResourceVersion == "" {
			fresh, err := jobs.Get(ctx, job.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			j = fresh
		}
		if j.Annotations == nil {
			j.Annotations = map[string]string{}
		}
		if ds != nil {
			j.Annotations[AnnotationNotifications] = EncodeDeliveries(ds)
		}
		if ended {
			markEnded(j)
		}
		var err error
		out, err = jobs.Update(ctx, j, metav1.UpdateOptions{FieldManager: jobdef.ManagedBy})
		if err != nil {
			out = j // the next try re-reads
		}
		return err
	})
	if apierrors.IsNotFound(err) {
		return job, nil
	}
	if err != nil {
		return nil, fmt.Errorf("record the notifications of run %s: %w", job.Name, err)
	}
	return out, nil
}

// markEnded sets AnnotationEnded (now) and LabelEnded on j (annotations
// not nil).
func markEnded(j *batchv1.Job) {
	j.Annotations[AnnotationEnded] = time.Now().UTC().Format(time.RFC3339)
	if j.Labels == nil {
		j.Labels = map[string]string{}
	}
	j.Labels[LabelEnded] = "true"
}
