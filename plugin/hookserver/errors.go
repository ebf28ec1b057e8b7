package hookserver

import (
	"net/http"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// apiError is an HTTP error answer: its status and the message of its JSON
// body.
type apiError struct {
	Code    int
	Message string
}

func (e *apiError) Error() string { return e.Message }

func errorf(code int, msg string) *apiError { return &apiError{Code: code, Message: msg} }

// Unavailable reports whether err means the API server could not be
// reached or could not answer for now (the client should retry): refused
// or reset connections, timeouts, 429/503/504 from the server.
func Unavailable(err error) bool {
	switch run.Classify(err) {
	case run.KindUnavailable, run.KindThrottled, run.KindUnreachable:
		return true
	}
	return false
}

// classify maps an error of the API server path to an answer: 503 when
// the API server cannot be reached, 500 otherwise. The 500 message is
// generic: details go to the log only.
func classify(err error) *apiError {
	if Unavailable(err) {
		return errUnavailable
	}
	return errInternal
}

var (
	errUnavailable = errorf(http.StatusServiceUnavailable, "the Kubernetes API server cannot be reached; retry later")
	errInternal    = errorf(http.StatusInternalServerError, "internal error; see the server log")
)

// triggerStatus is the answer of the trigger API to each kind of error.
// A job that is gone, or is another job now, is a 404 like an unknown
// token (its hooks go with it): nothing is learnt about the namespace.
// A failure is a 503 when the API server could not answer, else a
// generic 500: details go to the log only.
var triggerStatus = map[run.Kind]int{
	run.KindNotFound:          http.StatusNotFound,
	run.KindReplaced:          http.StatusNotFound,
	run.KindInvalidInput:      http.StatusBadRequest,
	run.KindConflict:          http.StatusConflict,
	run.KindForeignRelease:    http.StatusConflict,
	run.KindRateLimited:       http.StatusTooManyRequests,
	run.KindInvalidDefinition: http.StatusInternalServerError,
	run.KindUnavailable:       http.StatusServiceUnavailable,
	run.KindThrottled:         http.StatusServiceUnavailable,
	run.KindUnreachable:       http.StatusServiceUnavailable,
	run.KindInternal:          http.StatusInternalServerError,
	run.KindFinished:          http.StatusInternalServerError,
	run.KindNotARun:           http.StatusInternalServerError,
	run.KindChanged:           http.StatusInternalServerError,
	run.KindAlreadyExists:     http.StatusInternalServerError,
	run.KindForbidden:         http.StatusInternalServerError,
	run.KindUnauthorized:      http.StatusInternalServerError,
}
