package helmrun

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/shipjob/kubectl-shipjob/plugin/run"

	batchv1 "k8s.io/api/batch/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/shipjob/kubectl-shipjob/postrender"
)

// checkedRenderer post-renders a run and then checks that what is about to
// be applied is what the run chart can produce from a valid definition:
// one batch/v1 Job of the run's name, one container, no host namespaces,
// no volumes but the run's files Secret, no security context or added
// capabilities, and the image, service account and Secrets the definition
// names. Definitions are validated before they are rendered and the chart
// quotes every value, so this never fails unless one of those defences
// has a hole: it is the last one (defence in depth), and a failure is a
// RenderError (a bug report), never a run.
type checkedRenderer struct {
	renderer postrender.Renderer
	want     renderWant
	// rendered receives the checked manifest.
	rendered *string
}

// renderWant is what the rendered run must match.
type renderWant = run.JobWant

func (r *checkedRenderer) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	out, err := r.renderer.Run(in)
	if err != nil {
		return nil, err
	}
	if err := checkRendered(out.Bytes(), r.want); err != nil {
		return nil, &run.RenderError{Err: err}
	}
	if r.rendered != nil {
		*r.rendered = out.String()
	}
	return out, nil
}

// checkRendered decodes every document strictly (an unknown field is an
// error) and checks it against want.
func checkRendered(manifest []byte, want renderWant) error {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifest)))
	jobs := 0
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read manifest: %w", err)
		}
		if isBlankDocument(doc) {
			continue
		}
		var job batchv1.Job
		if err := yaml.UnmarshalStrict(doc, &job); err != nil {
			return fmt.Errorf("decode rendered object: %w", err)
		}
		if job.APIVersion != "batch/v1" || job.Kind != "Job" {
			return fmt.Errorf("rendered a %s %s: the run chart renders only a batch/v1 Job", job.APIVersion, job.Kind)
		}
		if err := run.CheckJob(&job, want); err != nil {
			return fmt.Errorf("job %s: %w", job.Name, err)
		}
		jobs++
	}
	if jobs != 1 {
		return fmt.Errorf("rendered %d Jobs, want exactly 1", jobs)
	}
	return nil
}

func isBlankDocument(doc []byte) bool {
	for line := range strings.SplitSeq(string(doc), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") && l != "---" {
			return false
		}
	}
	return true
}
