package run

import (
	"k8s.io/apimachinery/pkg/types"
)

// MaxHistory bounds the Helm release Secrets a job keeps: runs are read
// from their Jobs, so a job triggered 10,000 times keeps only these.
const MaxHistory = 3

// DryRun modes of a trigger.
type DryRun string

// Dry-run modes: none, render only, or render and validate with the API server.
const (
	DryRunNone   DryRun = ""
	DryRunClient DryRun = "client"
	DryRunServer DryRun = "server"
)

// Request is one trigger.
type Request struct {
	Namespace string
	Job       string
	// Params override the job's default parameters.
	Params map[string]string
	// Tag overrides the image tag for this run only.
	Tag string
	// TriggeredBy is recorded on the run: "user:<name>" or "hook:<name>".
	TriggeredBy string
	// Tasks overrides the job's number of tasks for this run (0: the job's).
	Tasks int32
	// RerunOf names the run this one repeats (recorded as provenance).
	RerunOf string
	// IdempotencyKey, if set: while a run of the job made with the same key
	// exists, the trigger returns it (Result.Unchanged) instead of starting
	// another; with other parameters or tag it is a *ConflictError.
	IdempotencyKey string
	// JobUID, if set, is the UID of the definition the caller knows (a
	// hook's owner): a job deleted and created again under the same name is
	// another job, and the trigger fails with *ReplacedError.
	JobUID types.UID
	// Confirm, if set, is the caller's own check of the trigger (the hook
	// server re-reads the hook), made while the trigger reads the
	// definition and before anything is written: its error ends the
	// trigger as it is; the UID it returns is JobUID.
	Confirm func() (types.UID, error)
	DryRun  DryRun
}

// Result describes the run that was (or would be) created.
type Result struct {
	Run        string
	Namespace  string
	Job        string
	Image      string
	Parameters map[string]string
	// Manifest is the post-rendered Job (and files Secret) as YAML.
	Manifest string
	// Unchanged: the run existed already (same idempotency key); nothing
	// was created.
	Unchanged bool
	// Warnings are problems after the run's Job was created: the run
	// exists and goes on (a caller must not retry), but something around
	// it failed (recording it in its Helm release, handing it its files).
	Warnings []string
}
