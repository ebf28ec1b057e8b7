package run

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"strings"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// Kind is what an error of the domain (or of the API server under it)
// means, whichever front end shows it. The CLI, the hook API and the UI
// each map every Kind to their own answer (an exit code, a status code, a
// page); the message stays the error's own.
type Kind int

// The kinds, from Classify. A new kind fails the front ends' tests until
// each maps it.
const (
	// KindInternal is anything else: a bug (*RenderError), an API error of
	// no kind below, a failure of our own.
	KindInternal Kind = iota
	// KindNotFound is the API server's NotFound: no such job, run or hook.
	KindNotFound
	// KindInvalidInput is what the caller gave: *InputError,
	// *MissingParamError, *SecretParamError.
	KindInvalidInput
	// KindConflict is a trigger refused by the job's concurrency rules
	// (*ConflictError).
	KindConflict
	// KindReplaced is a job deleted and created again under its name
	// (*ReplacedError).
	KindReplaced
	// KindForeignRelease is a Helm release of another chart named like the
	// job (*ForeignReleaseError).
	KindForeignRelease
	// KindRateLimited is a trigger over the job's maxRunsPerMinute
	// (*RateLimitedError, with its RetryAfter).
	KindRateLimited
	// KindFinished is a cancel of a run that has finished (*FinishedError).
	KindFinished
	// KindNotARun is a Job labelled as a run that is not one (*NotARunError).
	KindNotARun
	// KindInvalidDefinition is a stored definition that does not pass
	// validation (*jobdef.InvalidError).
	KindInvalidDefinition
	// KindChanged is an object changed by someone else since it was read
	// (jobdef.ErrConflict, the API server's Conflict).
	KindChanged
	// KindAlreadyExists is the API server's AlreadyExists.
	KindAlreadyExists
	// KindForbidden is the API server's Forbidden (RBAC).
	KindForbidden
	// KindUnauthorized is the API server refusing the credentials.
	KindUnauthorized
	// KindUnavailable is the API server answering that it cannot answer
	// now: ServiceUnavailable, Timeout, ServerTimeout.
	KindUnavailable
	// KindThrottled is the API server's TooManyRequests (its own limits,
	// not the job's).
	KindThrottled
	// KindUnreachable is no answer from the API server: refused or reset
	// connections, network errors, a deadline, an early EOF.
	KindUnreachable

	numKinds // keep last
)

var kindNames = [...]string{
	KindInternal: "Internal", KindNotFound: "NotFound", KindInvalidInput: "InvalidInput", KindConflict: "Conflict",
	KindReplaced: "Replaced", KindForeignRelease: "ForeignRelease", KindRateLimited: "RateLimited",
	KindFinished: "Finished", KindNotARun: "NotARun", KindInvalidDefinition: "InvalidDefinition",
	KindChanged: "Changed", KindAlreadyExists: "AlreadyExists", KindForbidden: "Forbidden",
	KindUnauthorized: "Unauthorized", KindUnavailable: "Unavailable", KindThrottled: "Throttled",
	KindUnreachable: "Unreachable",
}

func (k Kind) String() string {
	if k < 0 || k >= numKinds {
		return "Kind(?)"
	}
	return kindNames[k]
}

// Kinds lists every Kind, for front ends' tests that each is mapped.
func Kinds() []Kind {
	out := make([]Kind, numKinds)
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}

// Classify says what err means (nil is KindInternal: callers classify
// failures only). The domain's typed errors come first, wrapped with %w or
// not; then the API server's answers; then errors of no answer at all.
func Classify(err error) Kind {
	if k, ok := domainKind(err); ok {
		return k
	}
	if k, ok := apiKind(err); ok {
		return k
	}
	if unreachable(err) {
		return KindUnreachable
	}
	return KindInternal
}

// domainKind is the kind of the domain's typed errors.
func domainKind(err error) (Kind, bool) {
	switch {
	case errors.As(err, new(*ReplacedError)):
		return KindReplaced, true
	case errors.As(err, new(*ConflictError)):
		return KindConflict, true
	case errors.As(err, new(*ForeignReleaseError)):
		return KindForeignRelease, true
	case errors.As(err, new(*RateLimitedError)):
		return KindRateLimited, true
	case errors.As(err, new(*InputError)), errors.As(err, new(*MissingParamError)), errors.As(err, new(*SecretParamError)):
		return KindInvalidInput, true
	case errors.As(err, new(*jobdef.InvalidError)):
		return KindInvalidDefinition, true
	case errors.As(err, new(*FinishedError)):
		return KindFinished, true
	case errors.As(err, new(*NotARunError)):
		return KindNotARun, true
	case errors.Is(err, jobdef.ErrConflict):
		return KindChanged, true
	}
	return KindInternal, false
}

// apiKind is the kind of an answer of the API server.
func apiKind(err error) (Kind, bool) {
	switch {
	case apierrors.IsNotFound(err):
		return KindNotFound, true
	case apierrors.IsForbidden(err):
		return KindForbidden, true
	case apierrors.IsConflict(err):
		return KindChanged, true
	case apierrors.IsAlreadyExists(err):
		return KindAlreadyExists, true
	case apierrors.IsUnauthorized(err):
		return KindUnauthorized, true
	case apierrors.IsServiceUnavailable(err), apierrors.IsTimeout(err), apierrors.IsServerTimeout(err):
		return KindUnavailable, true
	case apierrors.IsTooManyRequests(err):
		return KindThrottled, true
	}
	return KindInternal, false
}

// unreachable reports whether err means the API server did not answer:
// refused or reset connections, timeouts, network errors. Any other answer
// of the API server is not.
func unreachable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) {
		return true
	}
	// A file's error (*fs.PathError) has the methods of net.Error too: a
	// missing --param-file is not an unreachable API server.
	var nerr net.Error
	if errors.As(err, &nerr) && !errors.As(err, new(*fs.PathError)) {
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return false
	}
	// Helm flattens some errors to text on the way up.
	msg := err.Error()
	for _, s := range []string{"connection refused", "connection reset", "cluster unreachable", "i/o timeout",
		"TLS handshake timeout", "http2: client connection lost", "no route to host", "unexpected EOF"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// ParamOf is the job parameter a refusal is about ("" if none): the Param
// of the first *InputError, *MissingParamError or *SecretParamError in
// err's chain that names one (a whole-request InputError may wrap one
// that does).
func ParamOf(err error) string {
	for err != nil {
		switch e := err.(type) {
		case *InputError:
			if e.Param != "" {
				return e.Param
			}
		case *MissingParamError:
			return e.Param
		case *SecretParamError:
			return e.Param
		}
		err = errors.Unwrap(err)
	}
	return ""
}

// FieldOf is the input other than a parameter that a refusal is about: the
// Field of the first *InputError in err's chain that names one ("" if
// none).
func FieldOf(err error) string {
	for err != nil {
		if e, ok := err.(*InputError); ok && e.Field != "" {
			return e.Field
		}
		err = errors.Unwrap(err)
	}
	return ""
}
