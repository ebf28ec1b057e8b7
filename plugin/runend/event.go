package runend

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// recordEnd emits the run's Event and counts it (once: after the claim).
func (p *Processor) recordEnd(ctx context.Context, job *batchv1.Job, st run.Status, outcome jobdef.Outcome, log *slog.Logger) {
	p.cfg.Metrics.finished(job.Namespace, st, outcome)
	if err := p.event(ctx, job, st, outcome); err != nil {
		log.Warn("event not recorded", "err", err.Error())
	}
	log.Info("run ended", "message", st.Message)
}

// event records the run's end on its Job (kubectl get events, describe).
// It is the one write of runend itself: an Event, not run state.
func (p *Processor) event(ctx context.Context, job *batchv1.Job, st run.Status, outcome jobdef.Outcome) error {
	reason, typ := "RunSucceeded", corev1.EventTypeNormal
	switch outcome {
	case jobdef.OutcomeFailed:
		reason, typ = "RunFailed", corev1.EventTypeWarning
	case jobdef.OutcomeCancelled:
		reason = "RunCancelled"
	}
	now := metav1.Now()
	msg := fmt.Sprintf("Run %s of job %s %s: %s", job.Name, st.Job, outcome, st.Message)
	if len(msg) > 1024 {
		msg = msg[:1024]
	}
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", job.Name, now.UnixNano()), Namespace: job.Namespace},
		InvolvedObject: corev1.ObjectReference{APIVersion: "batch/v1", Kind: "Job", Namespace: job.Namespace, Name: job.Name,
			UID: job.UID, ResourceVersion: job.ResourceVersion},
		Reason: reason, Message: msg, Type: typ,
		Source:         corev1.EventSource{Component: "shipjob-hooks"},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		ReportingController: "shipjob.dev/hooks", ReportingInstance: p.cfg.Identity, Action: "End",
	}
	_, err := p.cfg.Client.CoreV1().Events(job.Namespace).Create(ctx, ev, metav1.CreateOptions{})
	return err
}

// restoreGauges sets the last-run gauges from the runs ended before (a
// new leader knows the last outcome of each job without waiting for a
// run): one paged list of the processed runs per namespace.
func (p *Processor) restoreGauges(ctx context.Context) {
	for _, ns := range p.cfg.Namespaces {
		opts := metav1.ListOptions{LabelSelector: run.Selector("") + "," + run.LabelEnded, Limit: 500}
		for {
			list, err := p.cfg.Client.BatchV1().Jobs(ns).List(ctx, opts)
			if err != nil {
				p.cfg.Log.Warn("last outcomes not restored", "namespace", ns, "err", err.Error())
				break
			}
			for i := range list.Items {
				st := run.Compute(&list.Items[i], nil, time.Now())
				if st.Phase.Finished() {
					p.cfg.Metrics.last(list.Items[i].Namespace, st, outcomeOf(st.Phase))
				}
			}
			if opts.Continue = list.Continue; opts.Continue == "" {
				break
			}
		}
	}
}
