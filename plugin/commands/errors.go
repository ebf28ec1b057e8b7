package commands

import (
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// FormatError renders err as one line in kubectl's style.
func FormatError(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Reason != "" {
		st := status.Status()
		msg := err.Error()
		// Keep our own context ("delete job x: ...") but not Go's wrapping of
		// the server's message twice.
		if inner := st.Message; inner != "" && !strings.HasSuffix(msg, inner) {
			msg = inner
		}
		return singleLine(fmt.Sprintf("Error from server (%s): %s", st.Reason, msg))
	}
	return singleLine("error: " + err.Error())
}

func singleLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// exitCodes is the exit code of a command that failed with each kind of
// error; an *ExitError (a run's own result, a wait that timed out) says
// its own code.
var exitCodes = map[run.Kind]int{
	run.KindInternal:          1,
	run.KindNotFound:          1,
	run.KindInvalidInput:      1,
	run.KindConflict:          1,
	run.KindReplaced:          1,
	run.KindForeignRelease:    1,
	run.KindRateLimited:       1,
	run.KindFinished:          1,
	run.KindNotARun:           1,
	run.KindInvalidDefinition: 1,
	run.KindChanged:           1,
	run.KindAlreadyExists:     1,
	run.KindForbidden:         1,
	run.KindUnauthorized:      1,
	run.KindUnavailable:       ExitUnavailable,
	run.KindThrottled:         ExitUnavailable,
	run.KindUnreachable:       ExitUnavailable,
}

// ExitCode is the process exit code for a command's error (0 for nil).
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		return exit.Code
	}
	if code, ok := exitCodes[run.Classify(err)]; ok {
		return code
	}
	return 1
}

// withFlag adds to a refusal the flag that gives the input it is about:
// the domain names its input (run.InputError's Field), the CLI its flag.
func withFlag(err error, flags map[string]string) error {
	if flag, ok := flags[run.FieldOf(err)]; ok {
		return fmt.Errorf("%w (%s)", err, flag)
	}
	return err
}
