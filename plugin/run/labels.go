package run

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// Labels and annotations on every run's Job (and its pods and files Secret).
const (
	// LabelJob is the job definition's name (same key as on the definition).
	LabelJob = jobdef.LabelJob
	// LabelRun is the run's name (= the Job's name).
	LabelRun = jobdef.Group + "/run"
	// LabelKind marks run objects: "run" on Jobs, "run-files" on files
	// Secrets (shared by runs), "run-params" on a run's own Secret.
	LabelKind = jobdef.LabelKind

	KindRun       = "run"
	KindRunFiles  = "run-files"
	KindRunParams = "run-params"

	AnnotationTriggeredBy = jobdef.Group + "/triggered-by" // "user:alice" or "hook:<name>"
	AnnotationTriggeredAt = jobdef.Group + "/triggered-at" // RFC 3339
	AnnotationParameters  = jobdef.Group + "/parameters"   // JSON object of effective parameters
	AnnotationImage       = jobdef.Group + "/image"
	AnnotationTimeout     = jobdef.Group + "/timeout"
	AnnotationCancelledBy = jobdef.Group + "/cancelled-by"
	AnnotationCancelledAt = jobdef.Group + "/cancelled-at"
	AnnotationJobUID      = jobdef.Group + "/job-uid"  // the definition's UID at trigger time
	AnnotationRerunOf     = jobdef.Group + "/rerun-of" // the run this one repeats (kubectl shipjob rerun)
)

// Selector selects every run of job ("" = every run).
func Selector(job string) string {
	if job == "" {
		return LabelKind + "=" + KindRun
	}
	return LabelKind + "=" + KindRun + "," + LabelJob + "=" + job
}

// filesSelector selects the Secrets of every run of job: its shared files
// Secrets and the runs' own Secrets of secret parameter values.
func filesSelector(job string) string {
	return LabelKind + " in (" + KindRunFiles + "," + KindRunParams + ")," + LabelJob + "=" + job
}

// GroupResource names runs in errors ("runs.shipjob.dev").
var GroupResource = schema.GroupResource{Group: jobdef.Group, Resource: "runs"}

// replacedByPrefix marks, in the cancelled-by annotation, a run cancelled
// by concurrencyPolicy Replace for the named new run.
const replacedByPrefix = "replaced-by:"
