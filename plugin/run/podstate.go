package run

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// What Compute reads off a run's Job and its latest pod.

// JobCondition is job's condition of type t, nil when it has none.
func JobCondition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i, c := range job.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return &job.Status.Conditions[i]
		}
	}
	return nil
}

func lastTerminated(p *corev1.Pod) *corev1.ContainerStateTerminated {
	if p == nil {
		return nil
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Terminated != nil {
			return cs.State.Terminated
		}
		if cs.LastTerminationState.Terminated != nil {
			return cs.LastTerminationState.Terminated
		}
	}
	return nil
}

func waiting(p *corev1.Pod) *corev1.ContainerStateWaiting {
	if p == nil {
		return nil
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Waiting != nil {
			return cs.State.Waiting
		}
	}
	return nil
}

func containerImage(p *corev1.Pod) string {
	if p != nil && len(p.Spec.Containers) > 0 {
		return p.Spec.Containers[0].Image
	}
	return ""
}

func memoryLimit(p *corev1.Pod) string {
	if p == nil || len(p.Spec.Containers) == 0 {
		return ""
	}
	if q, ok := p.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory]; ok {
		return " (" + q.String() + ")"
	}
	return ""
}

func timeoutText(job *batchv1.Job) string {
	if t := job.Annotations[AnnotationTimeout]; t != "" {
		return t
	}
	if job.Spec.ActiveDeadlineSeconds != nil {
		return HumanDuration(time.Duration(*job.Spec.ActiveDeadlineSeconds) * time.Second)
	}
	return "its deadline"
}
