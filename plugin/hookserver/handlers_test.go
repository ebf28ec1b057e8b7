package hookserver

import (
	"context"
	"net/http"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// addRun creates a finished run of job with the given exit code.
func addRun(t *testing.T, f *fixture, job, name string, exit int32, mutate ...func(*batchv1.Job)) {
	t.Helper()
	ctx := context.Background()
	cond := batchv1.JobComplete
	if exit != 0 {
		cond = batchv1.JobFailed
	}
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Labels: map[string]string{run.LabelKind: run.KindRun, run.LabelJob: job, run.LabelRun: name},
			Annotations: map[string]string{run.AnnotationJobUID: "uid-" + job, run.AnnotationReleaseName: job, run.AnnotationReleaseNamespace: testNS}},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "job", Image: "example.com/acme/sim:1"}}}}},
		Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue}}},
	}
	for _, m := range mutate {
		m(j)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-x", Namespace: testNS, Labels: map[string]string{run.LabelRun: name}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "main",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit}}}}},
	}
	if _, err := f.client.BatchV1().Jobs(testNS).Create(ctx, j, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.CoreV1().Pods(testNS).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestHookRunStatus(t *testing.T) {
	f := newFixture(t, nil)
	addRun(t, f, "migrate", "migrate-0abcdefgh1", 3)
	addRun(t, f, "strict", "strict-0abcdefgh1", 0)
	// Planted with run labels and the job's UID (review N7): no status.
	addRun(t, f, "migrate", "migrate-0abcdefgh3", 0, func(j *batchv1.Job) { j.Spec.Template.Spec.HostPID = true })
	addRun(t, f, "migrate", "migrate-0abcdefgh4", 0, func(j *batchv1.Job) { delete(j.Annotations, run.AnnotationJobUID) })
	if _, err := f.client.BatchV1().Jobs(testNS).Create(context.Background(), &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate-0abcdefgh2", Namespace: testNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	a := f.do(t, http.MethodGet, hook.RunsPath+"migrate-0abcdefgh1", f.token, "")
	var st RunStatus
	a.json(t, &st)
	if a.code != 200 || st.Phase != run.Failed || !st.Finished || st.ExitCode == nil || *st.ExitCode != 3 || st.Job != "migrate" {
		t.Fatalf("status %d %+v", a.code, st)
	}
	if strings.Contains(a.body, "parameters") || strings.Contains(a.body, "triggeredBy") {
		t.Fatalf("status shows more than CI needs: %s", a.body)
	}
	for name, path := range map[string]string{
		"another job's run":     hook.RunsPath + "strict-0abcdefgh1",
		"not a run":             hook.RunsPath + "migrate-0abcdefgh2",
		"planted, privileged":   hook.RunsPath + "migrate-0abcdefgh3",
		"planted, no job-uid":   hook.RunsPath + "migrate-0abcdefgh4",
		"missing":               hook.RunsPath + "migrate-0abcdefgh9",
		"not of the job's form": hook.RunsPath + "kube-system",
		"nested":                hook.RunsPath + "migrate-0abcdefgh1/x",
	} {
		if a := f.do(t, http.MethodGet, path, f.token, ""); a.code != 404 || !strings.Contains(a.body, "run not found") {
			t.Errorf("%s: %d %s", name, a.code, a.body)
		}
	}
	if a := f.do(t, http.MethodGet, hook.RunsPath+"strict-0abcdefgh1", f.strictToken, ""); a.code != 200 {
		t.Fatalf("own run of strict: %d %s", a.code, a.body)
	}
	if a := f.do(t, http.MethodGet, hook.RunsPath+"migrate-0abcdefgh1", "bad", ""); a.code != 404 || !strings.Contains(a.body, "hook not found") {
		t.Fatalf("bad token: %d %s", a.code, a.body)
	}
	if a := f.do(t, http.MethodPost, hook.RunsPath+"migrate-0abcdefgh1", f.token, ""); a.code != 405 || a.header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST status: %d %v", a.code, a.header)
	}
}

// TestHookStatusURLIgnoresClientHeaders is L7 of the security review:
// statusUrl is built from the configured external URL, or is a path,
// never from the caller's Host or X-Forwarded-* headers.
func TestHookStatusURLIgnoresClientHeaders(t *testing.T) {
	for base, want := range map[string]string{
		"":                           hook.RunsPath,
		"https://hooks.example.com":  "https://hooks.example.com" + hook.RunsPath,
		"https://example.com/hooks/": "https://example.com/hooks" + hook.RunsPath,
	} {
		f := newFixture(t, func(c *ServerConfig) { c.ExternalURL = base })
		a := f.do(t, http.MethodPost, hook.TriggerPath, f.token, `{}`, "Content-Type", "application/json",
			"Host", "evil.example", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.example")
		var got Triggered
		a.json(t, &got)
		if a.code != 201 || got.StatusURL != want+got.Run || strings.Contains(a.body, "evil") {
			t.Errorf("external URL %q: %d statusUrl %q, want %q", base, a.code, got.StatusURL, want+got.Run)
		}
	}
}
