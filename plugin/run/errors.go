package run

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
)

// InputError is a request refused for what the caller gave (a parameter,
// a tag, a hook's name): the CLI exits 1 with its message, the hook server
// answers 400. Nothing was written. Param or Field says which input it is
// about, for a front end that shows the refusal next to it (or names its
// own flag); both are empty for the request as a whole.
type InputError struct {
	// Param is the job parameter refused.
	Param string
	// Field is the input refused when it is not a parameter: "name" (of a
	// hook).
	Field string
	Err   error
}

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// IsInput reports whether err is an *InputError.
func IsInput(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// RenderError means the rendered run is not what the chart can produce:
// a bug in kubectl-shipjob (or a chart that was tampered with), never a
// run. Nothing was written.
type RenderError struct{ Err error }

func (e *RenderError) Error() string {
	return "rendered run refused: " + e.Err.Error() + " (this is a bug in kubectl-shipjob: please report it)"
}
func (e *RenderError) Unwrap() error { return e.Err }

// ReplacedError means the job of a trigger is not the definition the
// caller knew (Request.JobUID): it was deleted and created again under the
// same name. Nothing was written.
type ReplacedError struct {
	Job        string
	Known, Now types.UID
}

func (e *ReplacedError) Error() string {
	return fmt.Sprintf("job %s is not the job with UID %s any more (now %s): it was deleted and created again", e.Job, e.Known, e.Now)
}

// ConflictError is a trigger refused by the job's concurrency rules
// (concurrencyPolicy Forbid, maxActiveRuns): the CLI exits 1, the hook
// server answers 409. Active names the active runs. Nothing was created.
type ConflictError struct {
	Job    string
	Active []string
	Reason string
}

func (e *ConflictError) Error() string { return e.Reason }

// IsConflict reports whether err is a *ConflictError.
func IsConflict(err error) bool {
	var ce *ConflictError
	return errors.As(err, &ce)
}

// FinishedError is Cancel's answer for a run that has already finished.
type FinishedError struct {
	Run   string
	Phase Phase
}

func (e *FinishedError) Error() string {
	return fmt.Sprintf("run %s already finished (%s)", e.Run, e.Phase)
}

// IsFinished reports whether err is a *FinishedError.
func IsFinished(err error) bool {
	var fe *FinishedError
	return errors.As(err, &fe)
}

// MissingParamError is a trigger without a value for a required
// parameter. The front end says how to give one (a flag, a form field).
type MissingParamError struct{ Job, Param string }

func (e *MissingParamError) Error() string {
	return fmt.Sprintf("missing required parameter %q for job %s", e.Param, e.Job)
}

// SecretParamError says a rerun could not read the value of a secret
// parameter of its run (its Secret went, or was edited): giving the value
// again works, which the front end says in its own terms.
type SecretParamError struct {
	Run, Param string
	Err        error
}

func (e *SecretParamError) Error() string {
	return fmt.Sprintf("secret parameter %s of run %s: %v", e.Param, e.Run, e.Err)
}

func (e *SecretParamError) Unwrap() error { return e.Err }

// ForeignReleaseError is a trigger refused because the Helm release named
// like the job is not a release of kubectl-shipjob's run chart (Want): an
// application's release that shares the job's name is never upgraded,
// pruned or deleted. The CLI exits 1, the hook server answers 409.
// Nothing was written.
type ForeignReleaseError struct {
	Namespace, Release, Chart, Want string
}

func (e *ForeignReleaseError) Error() string {
	return fmt.Sprintf("Helm release %s in namespace %s is of chart %q, not kubectl-shipjob's run chart %s: job %s cannot run while that release exists (give the job another name)",
		e.Release, e.Namespace, e.Chart, e.Want, e.Release)
}

// IsForeignRelease reports whether err is a *ForeignReleaseError.
func IsForeignRelease(err error) bool {
	var fe *ForeignReleaseError
	return errors.As(err, &fe)
}
