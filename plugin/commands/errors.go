package commands

import (
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
