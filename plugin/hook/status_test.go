package hook

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// addRun creates a finished run of job with the given exit code.
func addRun(t *testing.T, f *fixture, job, name string, exit int32) {
	t.Helper()
	ctx := context.Background()
	cond := batchv1.JobComplete
	if exit != 0 {
		cond = batchv1.JobFailed
	}
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Labels: map[string]string{run.LabelKind: run.KindRun, run.LabelJob: job, run.LabelRun: name}},
		Status:     batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue}}},
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
	if _, err := f.client.BatchV1().Jobs(testNS).Create(context.Background(), &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate-0abcdefgh2", Namespace: testNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	a := f.do(t, http.MethodGet, RunsPath+"migrate-0abcdefgh1", f.token, "")
	var st RunStatus
	a.json(t, &st)
	if a.code != 200 || st.Phase != run.Failed || !st.Finished || st.ExitCode == nil || *st.ExitCode != 3 || st.Job != "migrate" {
		t.Fatalf("status %d %+v", a.code, st)
	}
	if strings.Contains(a.body, "parameters") || strings.Contains(a.body, "triggeredBy") {
		t.Fatalf("status shows more than CI needs: %s", a.body)
	}
	for name, path := range map[string]string{
		"another job's run":     RunsPath + "strict-0abcdefgh1",
		"not a run":             RunsPath + "migrate-0abcdefgh2",
		"missing":               RunsPath + "migrate-0abcdefgh9",
		"not of the job's form": RunsPath + "kube-system",
		"nested":                RunsPath + "migrate-0abcdefgh1/x",
	} {
		if a := f.do(t, http.MethodGet, path, f.token, ""); a.code != 404 || !strings.Contains(a.body, "run not found") {
			t.Errorf("%s: %d %s", name, a.code, a.body)
		}
	}
	if a := f.do(t, http.MethodGet, RunsPath+"strict-0abcdefgh1", f.strictToken, ""); a.code != 200 {
		t.Fatalf("own run of strict: %d %s", a.code, a.body)
	}
	if a := f.do(t, http.MethodGet, RunsPath+"migrate-0abcdefgh1", "bad", ""); a.code != 404 || !strings.Contains(a.body, "hook not found") {
		t.Fatalf("bad token: %d %s", a.code, a.body)
	}
	if a := f.do(t, http.MethodPost, RunsPath+"migrate-0abcdefgh1", f.token, ""); a.code != 405 || a.header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST status: %d %v", a.code, a.header)
	}
}

func TestHookLastUsedIsCoalesced(t *testing.T) {
	f := newFixture(t, nil)
	for range 5 {
		if a := f.post(t, f.token, ``); a.code != 201 {
			t.Fatal(a.body)
		}
	}
	patches := func() int {
		n := 0
		for _, a := range f.client.Actions() {
			if p, ok := a.(k8stesting.PatchAction); ok && p.GetResource().Resource == "secrets" && p.GetPatchType() == types.MergePatchType {
				n++
			}
		}
		return n
	}
	if n := patches(); n != 0 {
		t.Fatalf("%d writes during requests, want 0", n)
	}
	ctx := context.Background()
	f.server.usage.flush(ctx)
	if n := patches(); n != 1 {
		t.Fatalf("%d writes after flush, want 1", n)
	}
	h, err := (&Store{Client: f.client, Namespace: testNS}).Get(ctx, f.id)
	if err != nil || h.Status.LastUsed == nil || time.Since(h.Status.LastUsed.Time) > time.Minute {
		t.Fatalf("last used %+v, %v", h, err)
	}
	// Once the cache shows the recent time, further uses write nothing.
	deadline := time.Now().Add(2 * time.Second)
	for e, _ := f.server.index.Lookup(testNS, f.id); e.LastUsed.IsZero(); e, _ = f.server.index.Lookup(testNS, f.id) {
		if time.Now().After(deadline) {
			t.Fatal("cache never saw the last-used time")
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.post(t, f.token, ``)
	f.server.usage.flush(ctx)
	if n := patches(); n != 1 {
		t.Fatalf("%d writes within a minute, want 1", n)
	}
}

func TestHookMetrics(t *testing.T) {
	f := newFixture(t, nil)
	f.post(t, f.token, `{}`)
	f.post(t, "nope", `{}`)
	resp, err := http.Get(f.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`shipjob_hooks_http_requests_total{code="201",handler="trigger"} 1`,
		`shipjob_hooks_http_requests_total{code="404",handler="trigger"} 1`,
		`shipjob_hooks_triggers_total{code="201",job="migrate",namespace="team"} 1`,
		`shipjob_hooks_trigger_duration_seconds_count{outcome="created"} 1`,
		`shipjob_hooks_known 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(string(data), f.token) {
		t.Fatal("token in metrics")
	}
}
