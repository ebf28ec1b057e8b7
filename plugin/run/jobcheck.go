package run

import (
	"errors"
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// taskIndexField is where a task of an Indexed Job finds its index.
const taskIndexField = "metadata.annotations['" + batchv1.JobCompletionIndexAnnotation + "']"

// JobWant is what a run's Job must match: the name and namespace of the
// run, and the image, service account and Secrets its definition names.
// FilesSecret is the only Secret its volume may mount (the job's shared
// files Secret, FilesSecretName), ParamsSecret the only Secret its env may
// take values from (the run's own, ParamsSecretName); "" when it has none.
// For a run made before files were shared, both are LegacyRunSecretName.
type JobWant struct {
	Namespace, Run, Image, ServiceAccount, FilesSecret, ParamsSecret string
	PullSecrets, EnvFromSecrets                                      []string
}

// CheckJob checks that job is what the run chart can produce from a valid
// definition: one container, no host namespaces, no volumes but the job's
// files Secret, no env from other Secrets than the run's own, no security context or added capabilities, and the image,
// service account and Secrets of want. The trigger runs it on the rendered,
// post-rendered manifest (the last defence before anything is applied).
func CheckJob(job *batchv1.Job, want JobWant) error {
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

func checkContainer(c *corev1.Container, want JobWant) error {
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
			f.ConfigMapKeyRef != nil || f.FileKeyRef != nil || want.ParamsSecret == "" ||
			f.SecretKeyRef.Name != want.ParamsSecret || f.SecretKeyRef.Key != SecretParamKey(e.Name)) {
			return fmt.Errorf("env %s takes its value from elsewhere than the run's Secret", e.Name)
		}
	}
	return nil
}
