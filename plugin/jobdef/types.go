// Package jobdef is the job definition of kubectl-shipjob: its typed,
// versioned form (apiVersion shipjob.dev/v1alpha1, kind Job), validation,
// and its storage as one Secret per job. It imports no command layer.
package jobdef

import (
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// API identity of the typed form that `get -o yaml` prints and `apply` reads.
const (
	Group      = "shipjob.dev"
	Version    = "v1alpha1"
	APIVersion = Group + "/" + Version
	Kind       = "Job"
	ListKind   = "JobList"
)

// GroupResource names job definitions in errors ("jobs.shipjob.dev").
var GroupResource = schema.GroupResource{Group: Group, Resource: "jobs"}

// Defaults, as Shipmight's.
const (
	DefaultTag       = "latest"
	DefaultMemory    = "128Mi"
	DefaultCPU       = "100m"
	DefaultTimeout   = "15m"
	DefaultRetention = "336h" // 14 days
	// None disables a timeout or retention.
	None = "none"
	// MaxNameLength leaves room in 63-character Kubernetes names and label
	// values for a run suffix ("-" + 10 characters).
	MaxNameLength = 52
)

// Job is a stored job definition. Creating one does not run it.
type Job struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata: name, namespace, labels. The labels are also
	// put on every run of the job.
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              Spec `json:"spec"`
	// Status is computed when read (last run), never stored.
	Status *Status `json:"status,omitempty"`
}

// Spec is what a run is made of.
type Spec struct {
	// Description is free text shown by `list -o wide` and `get`.
	Description string `json:"description,omitempty"`
	// Image is the repository, e.g. "ghcr.io/acme/migrate"; with Registry it
	// is relative to the registry's server ("migrate").
	Image string `json:"image"`
	// Tag of the image; each run may override it. Default "latest".
	Tag string `json:"tag,omitempty"`
	// Digest pins the image ("sha256:…"); when set, runs use it, not Tag.
	Digest string `json:"digest,omitempty"`
	// AllowTagOverride lets a run of a digest-pinned job pull another tag
	// (`run --tag`, a hook's imageTag). Off by default: a pin holds.
	AllowTagOverride bool `json:"allowTagOverride,omitempty"`
	// Registry names a registry added with `kubectl shipjob registry add`:
	// its server prefixes Image and its credentials pull the image.
	Registry string `json:"registry,omitempty"`
	// ImagePullSecrets are existing Secrets used to pull the image.
	ImagePullSecrets []string `json:"imagePullSecrets,omitempty"`
	// Command replaces the image's entrypoint; Args its arguments.
	Command []string `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
	// Env are static environment variables of every run.
	Env []EnvVar `json:"env,omitempty"`
	// EnvFromSecrets are Secrets whose keys become environment variables.
	EnvFromSecrets []string `json:"envFromSecrets,omitempty"`
	// Parameters are environment variables each run may set; a run that
	// does not set one gets its default. Required ones have no default and
	// must be given at each run. Unknown names are rejected at run time.
	Parameters []Parameter `json:"parameters,omitempty"`
	// Files are mounted read-only into the container, content stored with
	// the job (and copied into each run, so later edits don't change it).
	Files []File `json:"files,omitempty"`
	// Resources: limits, and requests (= limits unless set).
	Resources Resources `json:"resources"`
	// Timeout is a Go duration ("15m") or "none"; a run still running after
	// it fails with "Did not finish within …".
	Timeout string `json:"timeout"`
	// Retention keeps finished runs this long ("336h") or forever ("none").
	Retention string `json:"retention"`
	// RetentionFailed keeps failed and cancelled runs this long (default:
	// Retention). The hook server sets each run's TTL by its outcome when
	// the run ends; without a server every run keeps the longer of the two.
	RetentionFailed string `json:"retentionFailed,omitempty"`
	// Notifications are webhooks the hook server POSTs to when a run ends.
	Notifications []Notification `json:"notifications,omitempty"`
	// Retries is the Job's backoffLimit: failed attempts before the run fails.
	Retries int32 `json:"retries"`
	// ServiceAccountName runs the pod under this ServiceAccount.
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// Tasks makes each run an Indexed Job of this many tasks (0 or 1: one
	// task). Each task gets SHIPJOB_TASK_INDEX (0…Tasks-1) and
	// SHIPJOB_TASK_COUNT; Retries then count per task.
	Tasks int32 `json:"tasks,omitempty"`
	// Parallelism is how many tasks run at once (0: all).
	Parallelism int32 `json:"parallelism,omitempty"`
	// ConcurrencyPolicy says what a trigger does while runs of the job are
	// active: Allow (default) starts another, Forbid refuses, Replace
	// cancels the active runs first.
	ConcurrencyPolicy ConcurrencyPolicy `json:"concurrencyPolicy,omitempty"`
	// MaxActiveRuns refuses a trigger while this many runs are active
	// (nil: DefaultMaxActiveRuns; 0: no limit). It bounds what a leaked
	// hook token can start.
	MaxActiveRuns *int32 `json:"maxActiveRuns,omitempty"`
	// SucceededRunsHistoryLimit and FailedRunsHistoryLimit bound the
	// finished runs kept, like a CronJob's history limits: each trigger
	// deletes the oldest succeeded (failed or cancelled) runs beyond them,
	// whatever their retention (nil: DefaultRunsHistoryLimit; 0: keep none).
	SucceededRunsHistoryLimit *int32 `json:"succeededRunsHistoryLimit,omitempty"`
	FailedRunsHistoryLimit    *int32 `json:"failedRunsHistoryLimit,omitempty"`
	// MaxRunsPerMinute refuses a trigger beyond this many per minute,
	// counted across every CLI and hook replica (nil:
	// DefaultMaxRunsPerMinute; 0: no limit).
	MaxRunsPerMinute *int32 `json:"maxRunsPerMinute,omitempty"`
	// Schedules run the job on time (schedule.go); StartingDeadline is how
	// late a missed slot may still start ("none": no limit; default
	// DefaultStartingDeadline).
	Schedules        []Schedule `json:"schedules,omitempty"`
	StartingDeadline string     `json:"startingDeadline,omitempty"`
}

// ConcurrencyPolicy is what a trigger does while runs are active.
type ConcurrencyPolicy string

// Concurrency policies.
const (
	AllowConcurrent   ConcurrencyPolicy = "Allow"
	ForbidConcurrent  ConcurrencyPolicy = "Forbid"
	ReplaceConcurrent ConcurrencyPolicy = "Replace"
)

// DefaultMaxActiveRuns is MaxActiveRuns when unset.
const DefaultMaxActiveRuns = 10

// ActiveLimit is how many runs may be active at once (0: no limit).
func (s *Spec) ActiveLimit() int {
	if s.MaxActiveRuns == nil {
		return DefaultMaxActiveRuns
	}
	return int(*s.MaxActiveRuns)
}

// Policy is the concurrency policy, Allow when unset.
func (s *Spec) Policy() ConcurrencyPolicy {
	if s.ConcurrencyPolicy == "" {
		return AllowConcurrent
	}
	return s.ConcurrencyPolicy
}

// EnvVar is a static environment variable.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Parameter is an environment variable a run may (or, if Required, must) set.
type Parameter struct {
	Name     string `json:"name"`
	Default  string `json:"default,omitempty"`
	Required bool   `json:"required,omitempty"`
	// Description says what the parameter is for (get, the web UI).
	Description string `json:"description,omitempty"`
	// Type of the value: string (default), integer, number or boolean.
	Type string `json:"type,omitempty"`
	// Enum, if set, lists the allowed values.
	Enum []string `json:"enum,omitempty"`
	// Pattern, if set, is a regular expression (RE2) the whole value must
	// match.
	Pattern string `json:"pattern,omitempty"`
	// Secret values never appear in clear on the run (annotations, Helm
	// release record, runs -o json): the value reaches the container from
	// the run's own Secret.
	Secret bool `json:"secret,omitempty"`
}

// File is a file mounted read-only at Path. Content holds UTF-8 text;
// BinaryContent anything else (like a ConfigMap's data and binaryData).
type File struct {
	Path          string `json:"path"`
	Content       string `json:"content,omitempty"`
	BinaryContent []byte `json:"binaryContent,omitempty"`
}

// Bytes returns the file's content.
func (f File) Bytes() []byte {
	if f.BinaryContent != nil {
		return f.BinaryContent
	}
	return []byte(f.Content)
}

// Resources are Kubernetes quantities. Requests default to the limits.
type Resources struct {
	Memory         string `json:"memory"`
	CPU            string `json:"cpu"`
	RequestsMemory string `json:"requestsMemory,omitempty"`
	RequestsCPU    string `json:"requestsCPU,omitempty"`
}

// Status summarizes the job's last run.
type Status struct {
	// Invalid says why a stored definition does not pass validation (it
	// was edited by hand): it cannot run until it is fixed.
	Invalid        string       `json:"invalid,omitempty"`
	LastRun        string       `json:"lastRun,omitempty"`
	LastRunStatus  string       `json:"lastRunStatus,omitempty"`
	LastRunStarted *metav1.Time `json:"lastRunStarted,omitempty"`
}

// List is what `list -o yaml|json` prints.
type List struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Job `json:"items"`
}

// New returns a job named name in namespace with every default set.
func New(namespace, name string) *Job {
	j := &Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	j.SetDefaults()
	return j
}

// SetDefaults fills the type meta and unset fields with their defaults.
func (j *Job) SetDefaults() {
	j.APIVersion, j.Kind = APIVersion, Kind
	s := &j.Spec
	if s.Tag == "" && s.Digest == "" {
		s.Tag = DefaultTag
	}
	if s.Resources.Memory == "" {
		s.Resources.Memory = DefaultMemory
	}
	if s.Resources.CPU == "" {
		s.Resources.CPU = DefaultCPU
	}
	if s.Timeout == "" {
		s.Timeout = DefaultTimeout
	}
	if s.Retention == "" {
		s.Retention = DefaultRetention
	}
}

// Notification is a webhook told when a run of the job ends.
type Notification struct {
	// URL receives the POST (http or https; the hook server refuses plain
	// http and private addresses unless started to allow them).
	URL string `json:"url"`
	// On are the outcomes that notify (default: all three).
	On []Outcome `json:"on,omitempty"`
	// Format of the body: json (default) or slack (an incoming-webhook
	// message Slack, Mattermost and Rocket.Chat accept).
	Format string `json:"format,omitempty"`
}

// Notification formats and bounds.
const (
	FormatJSON         = "json"
	FormatSlack        = "slack"
	MaxNotifications   = 10
	MaxNotificationURL = 2048
)

// Outcome is how a run ended: what a notification is on, what a run's
// retention follows, what run-end metrics and notifications say.
type Outcome string

// Run outcomes.
const (
	OutcomeSucceeded Outcome = "succeeded"
	OutcomeFailed    Outcome = "failed"
	OutcomeCancelled Outcome = "cancelled"
)

// Outcomes are the run outcomes a notification can be on, in order.
var Outcomes = []Outcome{OutcomeSucceeded, OutcomeFailed, OutcomeCancelled}

// Notifies reports whether n is sent for a run that ended with o.
func (n Notification) Notifies(o Outcome) bool {
	return len(n.On) == 0 || slices.Contains(n.On, o)
}

// RetentionOf is how long a run that ended with o is kept (keep=false:
// forever): RetentionFailed for failed and cancelled runs when set, else
// Retention.
func (s *Spec) RetentionOf(o Outcome) (ttl time.Duration, keep bool, err error) {
	if o != OutcomeSucceeded && s.RetentionFailed != "" {
		return ParseDuration("retentionFailed", s.RetentionFailed)
	}
	return ParseDuration("retention", s.Retention)
}

// LongestRetention is the longer of Retention and RetentionFailed: what a
// run gets when it is created, before anyone knows its outcome.
func (s *Spec) LongestRetention() (ttl time.Duration, keep bool, err error) {
	ttl, keep, err = ParseDuration("retention", s.Retention)
	if err != nil || !keep || s.RetentionFailed == "" {
		return ttl, keep, err
	}
	failed, keepFailed, err := ParseDuration("retentionFailed", s.RetentionFailed)
	if err != nil || !keepFailed {
		return 0, keepFailed, err
	}
	return max(ttl, failed), true, nil
}
