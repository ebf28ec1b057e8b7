package helmrun

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/shipjob/kubectl-shipjob/plugin/run"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/postrender"
)

// taskIndexField is where a task of an Indexed Job finds its index.
const taskIndexField = "metadata.annotations['" + batchv1.JobCompletionIndexAnnotation + "']"

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
type renderWant struct {
	Namespace, Run, Image, ServiceAccount, FilesSecret string
	PullSecrets, EnvFromSecrets                        []string
}

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
		if err := checkJob(&job, want); err != nil {
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

func checkJob(job *batchv1.Job, want renderWant) error {
	if job.Name != want.Run || job.Namespace != want.Namespace {
		return fmt.Errorf("name %s/%s, want %s/%s", job.Namespace, job.Name, want.Namespace, want.Run)
	}
	s := &job.Spec.Template.Spec
	switch {
	case s.HostPID || s.HostNetwork || s.HostIPC:
		return errors.New("uses a host namespace (hostPID, hostNetwork or hostIPC)")
	case s.HostUsers != nil, s.SecurityContext != nil:
		return errors.New("sets a pod security context or host users")
	case s.NodeName != "" || len(s.NodeSelector) > 0 || s.Affinity != nil || len(s.Tolerations) > 0 || s.PriorityClassName != "":
		return errors.New("sets scheduling fields the chart never renders")
	case s.ServiceAccountName != want.ServiceAccount || s.DeprecatedServiceAccount != "" || s.AutomountServiceAccountToken != nil:
		return fmt.Errorf("service account %q, want %q", s.ServiceAccountName, want.ServiceAccount)
	case len(s.InitContainers) > 0 || len(s.EphemeralContainers) > 0 || len(s.Containers) != 1:
		return fmt.Errorf("has %d containers and %d init containers, want exactly one container", len(s.Containers), len(s.InitContainers))
	}
	var pulls []string
	for _, p := range s.ImagePullSecrets {
		pulls = append(pulls, p.Name)
	}
	if !slices.Equal(pulls, want.PullSecrets) {
		return fmt.Errorf("image pull secrets %q, want %q", pulls, want.PullSecrets)
	}
	for _, v := range s.Volumes {
		if v.Secret == nil || v.Secret.SecretName != want.FilesSecret || v.Name != "files" || want.FilesSecret == "" {
			return fmt.Errorf("volume %q is not the run's files Secret", v.Name)
		}
		if v.HostPath != nil || v.Projected != nil {
			return fmt.Errorf("volume %q is a host path or projected volume", v.Name)
		}
	}
	return checkContainer(&s.Containers[0], want)
}

func checkContainer(c *corev1.Container, want renderWant) error {
	switch {
	case c.Image != want.Image:
		return fmt.Errorf("image %q, want %q", c.Image, want.Image)
	case c.SecurityContext != nil:
		return errors.New("sets a container security context")
	case len(c.Ports) > 0 || c.Stdin || c.TTY || c.WorkingDir != "" || len(c.VolumeDevices) > 0 || c.Lifecycle != nil:
		return errors.New("sets container fields the chart never renders")
	}
	for _, m := range c.VolumeMounts {
		if m.Name != "files" || !m.ReadOnly || m.SubPath == "" {
			return fmt.Errorf("volume mount at %q is not a read-only file of the run", m.MountPath)
		}
	}
	var from []string
	for _, e := range c.EnvFrom {
		if e.SecretRef == nil || e.ConfigMapRef != nil || e.Prefix != "" {
			return errors.New("envFrom is not a Secret of the definition")
		}
		from = append(from, e.SecretRef.Name)
	}
	if !slices.Equal(from, want.EnvFromSecrets) {
		return fmt.Errorf("env from secrets %q, want %q", from, want.EnvFromSecrets)
	}
	for _, e := range c.Env {
		if f := e.ValueFrom; f != nil && e.Name == jobdef.EnvTaskIndex && f.FieldRef != nil && f.SecretKeyRef == nil &&
			f.FieldRef.FieldPath == taskIndexField && f.ConfigMapKeyRef == nil && f.ResourceFieldRef == nil && f.FileKeyRef == nil {
			continue
		}
		if f := e.ValueFrom; f != nil && (f.SecretKeyRef == nil || f.FieldRef != nil || f.ResourceFieldRef != nil ||
			f.ConfigMapKeyRef != nil || f.FileKeyRef != nil || want.FilesSecret == "" ||
			f.SecretKeyRef.Name != want.FilesSecret || f.SecretKeyRef.Key != run.SecretParamKey(e.Name)) {
			return fmt.Errorf("env %s takes its value from elsewhere than the run's Secret", e.Name)
		}
	}
	return nil
}
