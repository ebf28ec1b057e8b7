package run

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Phase is a run's state as users see it.
type Phase string

// Phases.
const (
	Pending   Phase = "Pending"
	Running   Phase = "Running"
	Succeeded Phase = "Succeeded"
	Failed    Phase = "Failed"
	Cancelled Phase = "Cancelled"
)

// Finished reports whether the phase is final.
func (p Phase) Finished() bool { return p == Succeeded || p == Failed || p == Cancelled }

// Reasons (machine-readable) behind a phase; `run --wait` maps them to exit codes.
const (
	ReasonDeadlineExceeded = "DeadlineExceeded"
	ReasonImagePull        = "ImagePullFailed"
	ReasonExitCode         = "ExitCode"
	ReasonOOMKilled        = "OOMKilled"
	ReasonCancelled        = "Cancelled"
)

// Status is one run as shown by `runs` and returned by `run --wait`.
type Status struct {
	Name        string     `json:"name"`
	Namespace   string     `json:"namespace"`
	Job         string     `json:"job"`
	Phase       Phase      `json:"phase"`
	Reason      string     `json:"reason,omitempty"`
	Message     string     `json:"message,omitempty"`
	ExitCode    *int32     `json:"exitCode,omitempty"`
	Attempts    int32      `json:"attempts"`
	Created     time.Time  `json:"created"`
	Started     *time.Time `json:"started,omitempty"`
	Finished    *time.Time `json:"finished,omitempty"`
	TriggeredBy string     `json:"triggeredBy,omitempty"`
	// RerunOf is the run this one repeats (kubectl shipjob rerun).
	RerunOf string `json:"rerunOf,omitempty"`
	// Notified sums up the run-end notifications of the hook server
	// ("delivered", "failed (1/2 delivered)", "-" for none; "" before the
	// run's end was processed).
	Notified   string            `json:"notified,omitempty"`
	Image      string            `json:"image,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
	Pods       []string          `json:"pods,omitempty"`
	// Ticking is true when Message counts the time ("Running for 12s"): it
	// changes every second without any change of the run.
	Ticking bool `json:"-"`
	// Tasks of an Indexed run (0: one task), and how many have succeeded.
	Tasks          int32 `json:"tasks,omitempty"`
	TasksSucceeded int32 `json:"tasksSucceeded,omitempty"`
}

// StableMessage is Message without its ticking count ("Running"), so a
// watcher reports a change of state, not every second.
func (s Status) StableMessage() string {
	if s.Ticking {
		return string(Running)
	}
	return s.Message
}

// Duration is how long the run ran (until now if it still runs).
func (s Status) Duration(now time.Time) time.Duration {
	if s.Started == nil {
		return 0
	}
	end := now
	if s.Finished != nil {
		end = *s.Finished
	}
	return end.Sub(*s.Started).Round(time.Second)
}

// Compute derives a run's status from its Job and the Job's pods.
func Compute(job *batchv1.Job, pods []corev1.Pod, now time.Time) Status {
	s := computeOne(job, pods, now)
	if job.Spec.CompletionMode == nil || *job.Spec.CompletionMode != batchv1.IndexedCompletion || job.Spec.Completions == nil {
		return s
	}
	return tasksStatus(s, job, pods)
}

// computeOne is Compute for a run of one task (or its overall state).
func computeOne(job *batchv1.Job, pods []corev1.Pod, now time.Time) Status {
	s := Status{
		Name:        job.Name,
		Namespace:   job.Namespace,
		Job:         job.Labels[LabelJob],
		Created:     job.CreationTimestamp.Time,
		TriggeredBy: job.Annotations[AnnotationTriggeredBy],
		RerunOf:     job.Annotations[AnnotationRerunOf],
		Notified:    notifiedOf(job.Annotations),
		Image:       job.Annotations[AnnotationImage],
		Attempts:    job.Status.Failed + job.Status.Succeeded + job.Status.Active,
	}
	if at, err := time.Parse(time.RFC3339Nano, job.Annotations[AnnotationTriggeredAt]); err == nil {
		s.Created = at
	}
	if p := job.Annotations[AnnotationParameters]; p != "" {
		_ = json.Unmarshal([]byte(p), &s.Parameters)
	}
	if job.Status.StartTime != nil {
		t := job.Status.StartTime.Time
		s.Started = &t
	}
	pods = byCreation(pods)
	for _, p := range pods {
		s.Pods = append(s.Pods, p.Name)
	}
	var latest *corev1.Pod
	if len(pods) > 0 {
		latest = &pods[len(pods)-1]
	}
	term := lastTerminated(latest)
	if term != nil {
		code := term.ExitCode
		s.ExitCode = &code
	}

	if c := JobCondition(job, batchv1.JobComplete); c != nil {
		s.Phase = Succeeded
		if s.ExitCode == nil {
			s.ExitCode = new(int32) // completed: 0, also when its pods are not at hand
		}
		s.setFinished(job, c)
		s.Message = "Completed in " + HumanDuration(s.Duration(now))
		return s
	}
	if c := JobCondition(job, batchv1.JobFailed); c != nil {
		s.setFinished(job, c)
		s.Phase = Failed
		switch {
		case job.Annotations[AnnotationCancelledAt] != "":
			s.Phase, s.Reason = Cancelled, ReasonCancelled
			s.Message = "Cancelled"
			if by := job.Annotations[AnnotationCancelledBy]; by != "" {
				if next, ok := strings.CutPrefix(by, replacedByPrefix); ok {
					s.Message += ": replaced by " + next
				} else {
					s.Message += " by " + by
				}
			}
			s.Message += " after " + HumanDuration(s.Duration(now))
		case c.Reason == batchv1.JobReasonDeadlineExceeded:
			s.Reason = ReasonDeadlineExceeded
			s.Message = "Did not finish within " + timeoutText(job)
		case term != nil && term.Reason == "OOMKilled":
			s.Reason = ReasonOOMKilled
			s.Message = "OOMKilled: the container used more than its memory limit" + memoryLimit(latest)
		case term != nil:
			s.Reason = ReasonExitCode
			s.Message = fmt.Sprintf("Exit code %d", term.ExitCode)
			if job.Status.Failed > 1 {
				s.Message += fmt.Sprintf(" (failed %d times)", job.Status.Failed)
			}
		default:
			s.Reason = c.Reason
			s.Message = collapseSpace(c.Message)
			if s.Message == "" {
				s.Message = c.Reason
			}
		}
		return s
	}
	if job.Annotations[AnnotationCancelledAt] != "" {
		s.Phase, s.Reason, s.Message = Running, ReasonCancelled, "Cancelling"
		return s
	}
	// Still active.
	if w := waiting(latest); w != nil {
		switch w.Reason {
		case "ErrImagePull", "ImagePullBackOff", "InvalidImageName":
			s.Phase, s.Reason = Running, ReasonImagePull
			s.Message = fmt.Sprintf("Pulling image %s failed, retrying", containerImage(latest))
			return s
		case "ContainerCreating", "PodInitializing":
			s.Phase, s.Message = Running, "Container creating"
			return s
		case "CreateContainerConfigError", "CreateContainerError":
			s.Phase, s.Reason = Running, w.Reason
			s.Message = "Cannot start container: " + collapseSpace(w.Message)
			return s
		}
	}
	if job.Status.Failed > 0 {
		s.Phase = Running
		s.Message = fmt.Sprintf("Failed %d %s, retrying", job.Status.Failed, plural(job.Status.Failed, "time", "times"))
		return s
	}
	if latest == nil || latest.Status.Phase == corev1.PodPending && latest.Spec.NodeName == "" {
		s.Phase = Pending
		s.Message = "Waiting to be scheduled"
		if latest != nil {
			for _, c := range latest.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Message != "" {
					s.Message = "Unschedulable: " + collapseSpace(c.Message)
				}
			}
		}
		return s
	}
	if latest.Status.Phase == corev1.PodSucceeded || latest.Status.Phase == corev1.PodFailed {
		s.Phase, s.Message = Running, "Finishing"
		return s
	}
	if latest.Status.Phase == corev1.PodRunning {
		s.Phase = Running
		if s.Started == nil {
			// The Job controller has not recorded its start yet: the
			// running pod's start is the run's, so the message and the
			// duration agree.
			t := latest.CreationTimestamp.Time
			if latest.Status.StartTime != nil {
				t = latest.Status.StartTime.Time
			}
			s.Started = &t
		}
		s.Message = "Running for " + HumanDuration(s.Duration(now))
		s.Ticking = true
		return s
	}
	s.Phase = Running
	s.Message = "Starting"
	return s
}

// byCreation is pods oldest first: pods itself when it is in that order,
// else a sorted copy (the caller's slice is left as it is).
func byCreation(pods []corev1.Pod) []corev1.Pod {
	older := func(a, b corev1.Pod) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) }
	if slices.IsSortedFunc(pods, older) {
		return pods
	}
	pods = slices.Clone(pods)
	sort.Slice(pods, func(a, b int) bool { return pods[a].CreationTimestamp.Before(&pods[b].CreationTimestamp) })
	return pods
}

func (s *Status) setFinished(job *batchv1.Job, c *batchv1.JobCondition) {
	t := c.LastTransitionTime.Time
	if job.Status.CompletionTime != nil {
		t = job.Status.CompletionTime.Time
	}
	s.Finished = &t
	if s.Started == nil {
		created := job.CreationTimestamp.Time
		s.Started = &created
	}
}

// HumanDuration prints a duration the way people say it: 45s, 1m3s, 2h5m,
// 3d4h.
func HumanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		m, s := int(d.Minutes()), int(d.Seconds())%60
		if s == 0 {
			return fmt.Sprintf("%dm", m)
		}
		return fmt.Sprintf("%dm%ds", m, s)
	case d < 48*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	}
	days, h := int(d.Hours())/24, int(d.Hours())%24
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%dh", days, h)
}

func plural(n int32, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }
