package jobdef

import (
	"encoding/json"
	"fmt"
)

// API server limits a run must fit in. Checked when a definition is
// written and again when it is read to be run (see validateSizes), so a
// definition that cannot run is refused with the limit named instead of
// failing at the API server after the release record was written.
const (
	// MaxAnnotationBytes is the API server's limit on all annotations of
	// one object, keys and values together (TotalAnnotationSizeLimitB).
	MaxAnnotationBytes = 256 << 10
	// MaxRecordBytes is what the data of a Secret, and so a Helm release
	// record, may hold.
	MaxRecordBytes = 1 << 20
	// AnnotationReserve is what a run's annotations take besides its
	// parameters: provenance (who, when, image, definition UID, timeout)
	// and those of Helm and the post-renderer. Measured at 0.3 KiB
	// (plugin/run TestRunSizeReserves).
	AnnotationReserve = 4 << 10
	// RecordReserve is what a release record takes besides the
	// definition's values: the chart (templates and schema), the release
	// metadata and the rest of the manifest, gzipped and base64-encoded
	// as Helm stores them. Measured at 6.9 KiB (plugin/run
	// TestRunSizeReserves).
	RecordReserve = 64 << 10
)

// RunSize is what one run of a definition takes of the API server's
// limits, in bytes.
type RunSize struct {
	// Annotations is the run's parameters annotation (JSON of the values).
	Annotations int
	// Record bounds the values' share of the Helm release record: each
	// value is stored in the record's values and again in its rendered
	// manifest, and the parameters once more in each one's annotation.
	// Large values don't compress (gzip looks back only 32 KiB), and
	// base64 adds a third: counted as JSON-escaped bytes.
	Record int
}

// Size returns what a run with params (nil: the defaults) takes.
func (s *Spec) Size(params map[string]string) RunSize {
	effective := make(map[string]string, len(s.Parameters))
	for _, p := range s.Parameters {
		v, ok := params[p.Name]
		if !ok {
			v = p.Default
		}
		// A secret value goes into the run's Secret, not its record.
		effective[p.Name] = p.Shown(v)
	}
	paramJSON, _ := json.Marshal(effective)
	values := 0
	for _, e := range s.Env {
		values += jsonLen(e.Name) + jsonLen(e.Value)
	}
	for _, c := range append(append([]string(nil), s.Command...), s.Args...) {
		values += jsonLen(c)
	}
	// Parameters: as env in the values and the manifest, and as the
	// annotation in both, the second time JSON inside JSON.
	record := 2*values + 2*len(paramJSON) + 2*jsonLen(string(paramJSON))
	return RunSize{Annotations: len(paramJSON), Record: record * 4 / 3}
}

func jsonLen(s string) int {
	b, _ := json.Marshal(s)
	return len(b)
}

// validateSizes refuses a definition (or a run of it with params) that
// cannot be stored as a run.
func (s *Spec) validateSizes(params map[string]string) error {
	size := s.Size(params)
	if size.Annotations+AnnotationReserve > MaxAnnotationBytes {
		return fieldErr("spec.parameters", fmt.Errorf("parameters take %d KiB in each run's annotations; the API server allows %d KiB for all annotations of a Job (%d KiB are needed for provenance): shorten the values or move them into files",
			size.Annotations>>10, MaxAnnotationBytes>>10, AnnotationReserve>>10))
	}
	if size.Record+RecordReserve > MaxRecordBytes {
		return fieldErr("spec.env", fmt.Errorf("env, parameters, command and args take up to %d KiB in each run's Helm release record; a Secret holds %d KiB (%d KiB are needed for the chart): move large values into files",
			size.Record>>10, MaxRecordBytes>>10, RecordReserve>>10))
	}
	return nil
}

// CheckRunSize checks that a run with params fits the API server's
// limits (parameter values given at trigger time can be larger than the
// defaults).
func (s *Spec) CheckRunSize(params map[string]string) error { return s.validateSizes(params) }
