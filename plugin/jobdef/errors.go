package jobdef

import (
	"errors"
	"fmt"
)

// FieldError is a problem with one field of a definition. Its message is
// the problem alone; Field is the path in the typed form
// ("spec.serviceAccountName"), for a front end that shows errors next to
// their fields.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field string, err error) error { return &FieldError{Field: field, Err: err} }

// FieldOf returns the field an error of Validate names ("" if none).
func FieldOf(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

// InvalidError says that a definition read from the cluster does not pass
// validation: someone edited its Secret by hand (or a newer plugin wrote
// it). Nothing may be rendered or written from it.
type InvalidError struct {
	Namespace, Name string
	// Err is the validation problem (a *FieldError when it names a field).
	Err error
}

func (e *InvalidError) Error() string {
	field := FieldOf(e.Err)
	if field == "" {
		field = DataKey
	}
	return fmt.Sprintf("job %s in namespace %s is invalid: %s: %v; fix it with 'kubectl shipjob edit %s'",
		e.Name, e.Namespace, field, e.Err, e.Name)
}

func (e *InvalidError) Unwrap() error { return e.Err }

// IsInvalid reports whether err says a stored definition is invalid.
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}

// CheckStored validates a definition read from the cluster: the same rules
// as create and apply, reported as an *InvalidError.
func (j *Job) CheckStored() error {
	if err := j.Validate(); err != nil {
		return &InvalidError{Namespace: j.Namespace, Name: j.Name, Err: err}
	}
	return nil
}
