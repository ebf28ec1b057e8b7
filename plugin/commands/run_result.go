package commands

import (
	"fmt"
	"io"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// finalExit reports a finished (or stuck) run and returns the exit code
// `run --wait` documents.
func finalExit(w io.Writer, st run.Status) error {
	switch {
	case st.Phase == run.Succeeded:
		fmt.Fprintf(w, "run %s succeeded: %s\n", st.Name, st.Message)
		return nil
	case st.Phase == run.Cancelled:
		return &ExitError{Code: ExitCancelled, Err: fmt.Errorf("run %s: %s", st.Name, st.Message)}
	case st.Reason == run.ReasonDeadlineExceeded:
		return &ExitError{Code: ExitTimeout, Err: fmt.Errorf("run %s failed: %s", st.Name, st.Message)}
	case st.Reason == run.ReasonImagePull:
		return &ExitError{Code: ExitImagePull, Err: fmt.Errorf("run %s: %s (gave up waiting; the run keeps retrying until its timeout)", st.Name, st.Message)}
	case st.Phase == run.Failed:
		code := 1
		if st.ExitCode != nil && *st.ExitCode > 0 && *st.ExitCode < 256 {
			code = int(*st.ExitCode)
		}
		return &ExitError{Code: code, Err: fmt.Errorf("run %s failed: %s", st.Name, st.Message)}
	}
	return fmt.Errorf("run %s: %s: %s", st.Name, st.Phase, st.Message)
}

// printManifestJSON prints a rendered manifest as JSON: one object, or a
// v1 List of them.
func printManifestJSON(w io.Writer, manifest string) error {
	items, err := run.ManifestObjects(manifest)
	if err != nil {
		return err
	}
	var out any = map[string]any{"apiVersion": "v1", "kind": "List", "items": items}
	if len(items) == 1 {
		out = items[0]
	}
	if err := writeJSON(w, out); err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	return nil
}
