package hookserver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
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
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) {
		return true
	}
	if apierrors.IsServiceUnavailable(err) || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) ||
		apierrors.IsTooManyRequests(err) {
		return true
	}
	var nerr net.Error
	if errors.As(err, &nerr) {
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

// classify maps an error of the API server path to an answer: 503 when
// the API server cannot be reached, 500 otherwise. The 500 message is
// generic: details go to the log only.
func classify(err error) *apiError {
	if Unavailable(err) {
		return errorf(http.StatusServiceUnavailable, "the Kubernetes API server cannot be reached; retry later")
	}
	return errorf(http.StatusInternalServerError, "internal error; see the server log")
}
