package runtest

import (
	"fmt"
	"maps"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// Job is the run's Job as the run chart renders p, post-rendered (TTL),
// in the parts the run domain reads: labels, annotations, the container's
// image, env and files, the tasks. Resources are left out.
func Job(p *run.Plan) *batchv1.Job {
	s := p.Def.Spec
	labels := map[string]string{"app.kubernetes.io/name": "shipjob-run", "app.kubernetes.io/instance": p.Def.Name,
		run.LabelJob: p.Def.Name, run.LabelRun: p.Run}
	for k, v := range p.Def.Labels {
		// The chart keeps the definition's labels but its own.
		if !strings.HasPrefix(k, "shipjob.dev/") && !strings.HasPrefix(k, "app.kubernetes.io/") && k != "helm.sh/chart" {
			labels[k] = v
		}
	}
	podLabels := maps.Clone(labels)
	labels[run.LabelKind] = run.KindRun
	if p.IdempotencyLabel != "" {
		labels[run.LabelIdempotency] = p.IdempotencyLabel
	}
	c := corev1.Container{Name: "job", Image: p.Image, Command: s.Command, Args: s.Args, Env: env(p)}
	for _, name := range s.EnvFromSecrets {
		c.EnvFrom = append(c.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}})
	}
	pod := corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, ServiceAccountName: s.ServiceAccountName}
	for _, name := range p.PullSecrets {
		pod.ImagePullSecrets = append(pod.ImagePullSecrets, corev1.LocalObjectReference{Name: name})
	}
	if p.Files != nil {
		for i, f := range s.Files {
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "files", MountPath: f.Path, SubPath: run.FileKey(i), ReadOnly: true})
		}
		pod.Volumes = []corev1.Volume{{Name: "files", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: p.Files.Name}}}}
	}
	pod.Containers = []corev1.Container{c}
	// Helm adds its release's annotations to every object it creates.
	ann := maps.Clone(p.Annotations)
	ann[run.AnnotationReleaseName], ann[run.AnnotationReleaseNamespace] = p.Def.Name, p.Def.Namespace
	job := &batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: p.Run, Namespace: p.Def.Namespace, Labels: labels, Annotations: ann},
		Spec: batchv1.JobSpec{TTLSecondsAfterFinished: ttl(p), BackoffLimit: ptr(int32(s.Retries)),
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: podLabels}, Spec: pod}}}
	if p.Tasks > 1 {
		job.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
		job.Spec.Completions, job.Spec.Parallelism = ptr(p.Tasks), ptr(min(s.Parallelism, p.Tasks))
		job.Spec.BackoffLimitPerIndex, job.Spec.BackoffLimit = ptr(int32(s.Retries)), nil
	}
	return job
}

func env(p *run.Plan) []corev1.EnvVar {
	var env []corev1.EnvVar
	for _, e := range p.Def.Spec.Env {
		env = append(env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	for _, param := range p.Def.Spec.Parameters {
		if !param.Secret {
			env = append(env, corev1.EnvVar{Name: param.Name, Value: p.Params[param.Name]})
			continue
		}
		env = append(env, corev1.EnvVar{Name: param.Name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: p.ParamsSecret.Name}, Key: run.SecretParamKey(param.Name)}}})
	}
	if p.Tasks > 1 {
		env = append(env, corev1.EnvVar{Name: jobdef.EnvTaskIndex, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
			FieldPath: "metadata.annotations['" + batchv1.JobCompletionIndexAnnotation + "']"}}},
			corev1.EnvVar{Name: jobdef.EnvTaskCount, Value: fmt.Sprint(p.Tasks)})
	}
	return env
}

func ttl(p *run.Plan) *int32 {
	if p.TTL == nil {
		return nil
	}
	return ptr(int32(p.TTL.Seconds()))
}

func ptr[T any](v T) *T { return &v }
