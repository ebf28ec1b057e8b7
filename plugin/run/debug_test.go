package run_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// debugRun triggers a run of a job with env, a parameter, files, a service
// account and pull secrets, and gives its Job the labels the API server
// adds to a Job's pod template.
func debugRun(t *testing.T) (*fakeTrigger, *batchv1.Job) {
	t.Helper()
	ft := newFakeTrigger(t, 0, jobSecret(t, func(j *jobdef.Job) {
		j.Labels = map[string]string{"team": "data"}
		j.Spec.Env = []jobdef.EnvVar{{Name: "DATABASE_HOST", Value: "db"}}
		j.Spec.ServiceAccountName = "migrator"
		j.Spec.ImagePullSecrets = []string{"pull"}
		j.Spec.Command = []string{"./migrate", "up"}
	}))
	res, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", Params: map[string]string{"TARGET": "v42"}})
	if err != nil {
		t.Fatal(err)
	}
	job, err := ft.cs.BatchV1().Jobs("ns").Get(t.Context(), res.Run, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	job.Spec.Template.Labels["batch.kubernetes.io/controller-uid"] = string(job.UID)
	job.Spec.Template.Labels["batch.kubernetes.io/job-name"] = job.Name
	job.Spec.Template.Labels["controller-uid"] = string(job.UID)
	job.Spec.Template.Labels["job-name"] = job.Name
	if job, err = ft.cs.BatchV1().Jobs("ns").Update(t.Context(), job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return ft, job
}

func TestCreateDebugPodCopiesTheRunsPod(t *testing.T) {
	ft, job := debugRun(t)
	pod, err := run.CreateDebugPod(t.Context(), ft.cs, "ns", job.Name, run.DebugOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{run.LabelDebugOf: job.Name, run.LabelKind: run.KindDebug, run.LabelJob: "migrate",
		jobdef.LabelManagedBy: jobdef.ManagedBy, "team": "data"}
	if !maps.Equal(pod.Labels, wantLabels) {
		t.Errorf("labels %v, want %v", pod.Labels, wantLabels)
	}
	if own := pod.OwnerReferences; len(own) != 1 || own[0].Kind != "Job" || own[0].APIVersion != "batch/v1" || own[0].Name != job.Name ||
		own[0].UID != job.UID || (own[0].Controller != nil && *own[0].Controller) {
		t.Errorf("owner references %+v", own)
	}
	if !strings.HasPrefix(pod.GenerateName, job.Name+"-debug-") || pod.Namespace != "ns" {
		t.Errorf("name %q namespace %q", pod.GenerateName, pod.Namespace)
	}
	s, tmpl := pod.Spec, job.Spec.Template.Spec
	c := s.Containers[0]
	if !slices.Equal(c.Command, []string{"sleep", "3600"}) || c.Args != nil || s.ActiveDeadlineSeconds == nil || *s.ActiveDeadlineSeconds != 3600 ||
		s.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("command %q args %q deadline %v restart %s", c.Command, c.Args, s.ActiveDeadlineSeconds, s.RestartPolicy)
	}
	if c.Image != tmpl.Containers[0].Image || s.ServiceAccountName != "migrator" || len(s.ImagePullSecrets) != 1 || s.ImagePullSecrets[0].Name != "pull" {
		t.Errorf("image %q service account %q pull secrets %v", c.Image, s.ServiceAccountName, s.ImagePullSecrets)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if env["DATABASE_HOST"] != "db" || env["TARGET"] != "v42" {
		t.Errorf("env %v", c.Env)
	}
	if len(s.Volumes) != 1 || s.Volumes[0].Secret == nil || !run.IsFilesSecretName("migrate", job.Name, s.Volumes[0].Secret.SecretName) ||
		len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/etc/app.conf" {
		t.Errorf("volumes %+v mounts %+v", s.Volumes, c.VolumeMounts)
	}
	// Not an attempt of the run: neither runs nor logs see it.
	if st, err := run.Get(t.Context(), ft.cs, "ns", job.Name); err != nil || len(st.Pods) != 0 {
		t.Errorf("run's pods %v (%v)", st.Pods, err)
	}
}

func TestCreateDebugPodOptions(t *testing.T) {
	ft, job := debugRun(t)
	pod, err := run.CreateDebugPod(t.Context(), ft.cs, "ns", job.Name, run.DebugOptions{Image: "busybox:1.37", Timeout: 90 * time.Second,
		Command: []string{"/bin/sleep", "infinity"}})
	if err != nil {
		t.Fatal(err)
	}
	c := pod.Spec.Containers[0]
	if c.Image != "busybox:1.37" || !slices.Equal(c.Command, []string{"/bin/sleep", "infinity"}) || *pod.Spec.ActiveDeadlineSeconds != 90 {
		t.Errorf("image %q command %q deadline %d", c.Image, c.Command, *pod.Spec.ActiveDeadlineSeconds)
	}
}

func TestCreateDebugPodBadInputCreatesNothing(t *testing.T) {
	ft, job := debugRun(t)
	plain := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "plain", Namespace: "ns"}}
	if _, err := ft.cs.BatchV1().Jobs("ns").Create(t.Context(), plain, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		run  string
		o    run.DebugOptions
		want string
	}{
		"unknown run": {"nope", run.DebugOptions{}, `runs.shipjob.dev "nope" not found`},
		"not a run":   {"plain", run.DebugOptions{}, `runs.shipjob.dev "plain" not found`},
		"bad image":   {job.Name, run.DebugOptions{Image: "Bad Image"}, `invalid image reference "Bad Image"`},
	}
	for name, tc := range cases {
		if _, err := run.CreateDebugPod(t.Context(), ft.cs, "ns", tc.run, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	if pods, _ := ft.cs.CoreV1().Pods("ns").List(t.Context(), metav1.ListOptions{}); len(pods.Items) != 0 {
		t.Fatalf("bad input created %d pods", len(pods.Items))
	}
	if _, err := run.CreateDebugPod(t.Context(), ft.cs, "ns", "nope", run.DebugOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("unknown run: %v, want NotFound", err)
	}
}

func TestWaitDebugPod(t *testing.T) {
	ft, job := debugRun(t)
	pod, err := run.CreateDebugPod(t.Context(), ft.cs, "ns", job.Name, run.DebugOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Name = job.Name + "-debug-x" // the fake clientset does not generate names
	if pod, err = ft.cs.CoreV1().Pods("ns").Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		p := pod.DeepCopy()
		p.Status.Phase = corev1.PodRunning
		_, _ = ft.cs.CoreV1().Pods("ns").UpdateStatus(context.Background(), p, metav1.UpdateOptions{})
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if got, err := run.WaitDebugPod(ctx, ft.cs, "ns", pod.Name); err != nil || got.Status.Phase != corev1.PodRunning {
		t.Fatalf("wait: %v", err)
	}
	p := pod.DeepCopy()
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "job", State: corev1.ContainerState{
		Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}}}}
	if _, err := ft.cs.CoreV1().Pods("ns").UpdateStatus(t.Context(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := run.WaitDebugPod(ctx, ft.cs, "ns", pod.Name); err == nil || !strings.Contains(err.Error(), "cannot start: ImagePullBackOff") {
		t.Fatalf("image pull: %v", err)
	}
	short, cancelShort := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancelShort()
	p.Status.ContainerStatuses = nil
	if _, err := ft.cs.CoreV1().Pods("ns").UpdateStatus(t.Context(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := run.WaitDebugPod(short, ft.cs, "ns", pod.Name); err == nil || !strings.Contains(err.Error(), "did not start in time") {
		t.Fatalf("pending: %v", err)
	}
}

// TestDeleteDebugPodOnlyDeletesDebugPods: the cleanup of a debug pod that
// never became ready deletes it, and refuses any other pod.
func TestDeleteDebugPodOnlyDeletesDebugPods(t *testing.T) {
	ft, job := debugRun(t)
	pod, err := run.CreateDebugPod(t.Context(), ft.cs, "ns", job.Name, run.DebugOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ns"}}
	if _, err := ft.cs.CoreV1().Pods("ns").Create(t.Context(), other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := run.DeleteDebugPod(t.Context(), ft.cs, "ns", "app"); err == nil || !strings.Contains(err.Error(), "not a debug pod") {
		t.Fatalf("deleting another pod: %v", err)
	}
	if err := run.DeleteDebugPod(t.Context(), ft.cs, "ns", pod.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := ft.cs.CoreV1().Pods("ns").Get(t.Context(), pod.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("debug pod still there: %v", err)
	}
	if _, err := ft.cs.CoreV1().Pods("ns").Get(t.Context(), "app", metav1.GetOptions{}); err != nil {
		t.Fatalf("the other pod went: %v", err)
	}
}
