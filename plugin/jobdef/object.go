package jobdef

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/runtime"
)

// Job and List are runtime.Objects, so cli-runtime printers (json, yaml,
// name, jsonpath, go-template, custom-columns) print them like any
// Kubernetes object.
var (
	_ runtime.Object = &Job{}
	_ runtime.Object = &List{}
)

// DeepCopyInto copies j into out; nothing is shared.
func (j *Job) DeepCopyInto(out *Job) {
	*out = *j
	j.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	j.Spec.DeepCopyInto(&out.Spec)
	if j.Status != nil {
		st := *j.Status
		st.LastRunStarted = j.Status.LastRunStarted.DeepCopy()
		out.Status = &st
	}
}

// DeepCopy returns a copy of j.
func (j *Job) DeepCopy() *Job {
	if j == nil {
		return nil
	}
	out := new(Job)
	j.DeepCopyInto(out)
	return out
}

// DeepCopyObject implements runtime.Object.
func (j *Job) DeepCopyObject() runtime.Object { return j.DeepCopy() }

// DeepCopyInto copies s into out; nothing is shared.
func (s *Spec) DeepCopyInto(out *Spec) {
	*out = *s
	out.ImagePullSecrets = slices.Clone(s.ImagePullSecrets)
	out.Command = slices.Clone(s.Command)
	out.Args = slices.Clone(s.Args)
	out.Env = slices.Clone(s.Env)
	out.EnvFromSecrets = slices.Clone(s.EnvFromSecrets)
	out.Parameters = slices.Clone(s.Parameters)
	for i := range out.Parameters {
		out.Parameters[i].Enum = slices.Clone(s.Parameters[i].Enum)
	}
	out.Notifications = slices.Clone(s.Notifications)
	for i := range out.Notifications {
		out.Notifications[i].On = slices.Clone(s.Notifications[i].On)
	}
	if s.MaxActiveRuns != nil {
		m := *s.MaxActiveRuns
		out.MaxActiveRuns = &m
	}
	for _, p := range []**int32{&out.SucceededRunsHistoryLimit, &out.FailedRunsHistoryLimit, &out.MaxRunsPerMinute} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	out.Schedules = cloneSchedules(s.Schedules)
	if s.Files != nil {
		out.Files = make([]File, len(s.Files))
		for i, f := range s.Files {
			f.BinaryContent = bytes.Clone(f.BinaryContent)
			out.Files[i] = f
		}
	}
}

// DeepCopyObject implements runtime.Object.
func (l *List) DeepCopyObject() runtime.Object {
	if l == nil {
		return nil
	}
	out := &List{TypeMeta: l.TypeMeta}
	l.ListMeta.DeepCopyInto(&out.ListMeta)
	if l.Items != nil {
		out.Items = make([]Job, len(l.Items))
		for i := range l.Items {
			l.Items[i].DeepCopyInto(&out.Items[i])
		}
	}
	return out
}

// NewList returns a JobList of jobs.
func NewList(jobs []Job) *List {
	if jobs == nil {
		jobs = []Job{}
	}
	l := &List{Items: jobs}
	l.APIVersion, l.Kind = APIVersion, ListKind
	return l
}

// SameDefinition reports whether storing o instead of j would change
// nothing: same name, labels and stored spec (so nil and empty lists are
// equal, and status and server-set metadata are ignored).
func (j *Job) SameDefinition(o *Job) bool {
	if j.Name != o.Name || len(j.Labels) != len(o.Labels) || (len(j.Labels) > 0 && !maps.Equal(j.Labels, o.Labels)) {
		return false
	}
	a, errA := json.Marshal(j.Spec)
	b, errB := json.Marshal(o.Spec)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}
