// Package decode benchmarks decoding the API objects the plugin reads on its
// hot paths (protobuf, as its clients request them), to compare release
// builds with and without DIST_GCFLAGS (`make bench-decode`): the release
// build compiles generated API code without inlining except for core/v1 and
// batch/v1, so these must not get slower. DeploymentList (apps/v1) is the
// contrast: a group the plugin never reads, compiled without inlining.
package decode

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
)

const items = 200

func meta(i int) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      fmt.Sprintf("report-%07d", i),
		Namespace: "team-a",
		UID:       "3f1c7a52-8d0e-4a57-9f7e-5b2f1c0a9e11",
		Labels:    map[string]string{"shipjob.dev/job": "report", "shipjob.dev/run": fmt.Sprintf("report-%07d", i)},
		Annotations: map[string]string{
			"helm.sh/resource-policy":  "keep",
			"shipjob.dev/triggered-by": "user:alice",
			"shipjob.dev/parameters":   `{"REPORT_DATE":"2026-11-27"}`,
		},
		CreationTimestamp: metav1.Unix(1795000000, 0),
	}
}

func podSpec() corev1.PodSpec {
	return corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{
			Name:  "job",
			Image: "registry.example.com/team/report:1.2.0",
			Env:   []corev1.EnvVar{{Name: "REPORT_DATE", Value: "2026-11-27"}, {Name: "LOG_LEVEL", Value: "info"}},
			Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi"), corev1.ResourceCPU: resource.MustParse("500m")},
				Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi"), corev1.ResourceCPU: resource.MustParse("500m")},
			},
			VolumeMounts: []corev1.VolumeMount{{Name: "files", MountPath: "/etc/report", ReadOnly: true}},
		}},
		Volumes:          []corev1.Volume{{Name: "files", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "report-files"}}}},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "registry"}},
	}
}

func jobList() runtime.Object {
	l := &batchv1.JobList{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "JobList"}}
	for i := range items {
		l.Items = append(l.Items, batchv1.Job{
			ObjectMeta: meta(i),
			Spec: batchv1.JobSpec{
				BackoffLimit:            ptr.To[int32](0),
				ActiveDeadlineSeconds:   ptr.To[int64](3600),
				TTLSecondsAfterFinished: ptr.To[int32](1209600),
				Template:                corev1.PodTemplateSpec{ObjectMeta: meta(i), Spec: podSpec()},
			},
			Status: batchv1.JobStatus{
				Succeeded:      1,
				StartTime:      ptr.To(metav1.Unix(1795000001, 0)),
				CompletionTime: ptr.To(metav1.Unix(1795000031, 0)),
				Conditions: []batchv1.JobCondition{{
					Type: batchv1.JobComplete, Status: corev1.ConditionTrue,
					LastTransitionTime: metav1.Unix(1795000031, 0), Reason: "CompletionsReached",
				}},
			},
		})
	}
	return l
}

func podList() runtime.Object {
	l := &corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}}
	for i := range items {
		l.Items = append(l.Items, corev1.Pod{
			ObjectMeta: meta(i),
			Spec:       podSpec(),
			Status: corev1.PodStatus{
				Phase: corev1.PodFailed,
				ContainerStatuses: []corev1.ContainerStatus{{
					Name: "job", Image: "registry.example.com/team/report:1.2.0",
					State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
						ExitCode: 3, Reason: "Error", StartedAt: metav1.Unix(1795000001, 0), FinishedAt: metav1.Unix(1795000031, 0),
					}},
				}},
			},
		})
	}
	return l
}

func secretList() runtime.Object {
	l := &corev1.SecretList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "SecretList"}}
	for i := range items {
		l.Items = append(l.Items, corev1.Secret{
			ObjectMeta: meta(i),
			Type:       "shipjob.dev/job",
			Data:       map[string][]byte{"job.json": []byte(`{"image":"registry.example.com/team/report","tag":"1.2.0","memory":"256Mi","cpu":"500m","timeout":"1h","retention":"336h"}`)},
		})
	}
	return l
}

func deploymentList() runtime.Object {
	l := &appsv1.DeploymentList{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DeploymentList"}}
	for i := range items {
		l.Items = append(l.Items, appsv1.Deployment{
			ObjectMeta: meta(i),
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](2),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "report"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: meta(i), Spec: podSpec()},
			},
			Status: appsv1.DeploymentStatus{Replicas: 2, ReadyReplicas: 2, AvailableReplicas: 2},
		})
	}
	return l
}

func benchDecode(b *testing.B, obj runtime.Object) {
	s := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	data, err := runtime.Encode(s, obj)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Decode(data, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJobList(b *testing.B)        { benchDecode(b, jobList()) }
func BenchmarkDecodePodList(b *testing.B)        { benchDecode(b, podList()) }
func BenchmarkDecodeSecretList(b *testing.B)     { benchDecode(b, secretList()) }
func BenchmarkDecodeDeploymentList(b *testing.B) { benchDecode(b, deploymentList()) }

// TestRoundTrip keeps the fixtures honest: each decodes to what was encoded.
func TestRoundTrip(t *testing.T) {
	s := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	for _, obj := range []runtime.Object{jobList(), podList(), secretList(), deploymentList()} {
		data, err := runtime.Encode(s, obj)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := s.Decode(data, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		got.GetObjectKind().SetGroupVersionKind(obj.GetObjectKind().GroupVersionKind())
		if !equality(obj, got) {
			t.Errorf("%T does not round-trip", obj)
		}
	}
}

func equality(a, b runtime.Object) bool {
	return apiequality.Semantic.DeepEqual(a, b)
}
