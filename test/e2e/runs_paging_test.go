package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// keepFinishedRuns creates n run-shaped Jobs of job recorded as succeeded,
// the n-th the newest (spec.managedBy keeps the Job controller out: the
// runs a job keeps, without running them). It returns their names.
func keepFinishedRuns(t *testing.T, ns, job string, n int) []string {
	t.Helper()
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	base := time.Now().Add(-time.Duration(n+1) * time.Minute)
	names := make([]string, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := range n {
		names[i] = fmt.Sprintf("%s-kept%04d", job, i+1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			name := names[i]
			j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
				"shipjob.dev/kind": "run", "shipjob.dev/job": job, "shipjob.dev/run": name}},
				Spec: batchv1.JobSpec{ManagedBy: ptrTo("shipjob.dev/e2e"), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "job", Image: "example.com/acme/sim:1"}}}}}}
			created, err := cs.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{})
			if err == nil {
				t0 := metav1.NewTime(base.Add(time.Duration(i) * time.Minute))
				t1 := metav1.NewTime(t0.Add(time.Second))
				created.Status = batchv1.JobStatus{StartTime: &t0, CompletionTime: &t1, Succeeded: 1, Conditions: []batchv1.JobCondition{
					{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: t1},
					{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: t1}}}
				_, err = cs.BatchV1().Jobs(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("keep a finished run: %v", err)
		}
	}
	return names
}

func ptrTo[T any](v T) *T { return &v }

// TestRunsListingsPage: a job keeping more runs than a page: `runs` prints
// the newest 100 and says how many it left out (--limit 0: all), the UI's
// Runs tab shows them 100 a page with links between pages, and a bad page
// number is a 400. The Jobs page finds jobs by part of their name.
func TestRunsListingsPage(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "paged")
	createSimJob(t, ns, "other")
	names := keepFinishedRuns(t, ns, "paged", 105) // names[104] is the newest

	res := sj(t, ns, "", nil, "runs", "paged")
	if res.Code != 0 || strings.Count(res.Stdout, "Succeeded") != 100 || !strings.Contains(res.Stdout, names[104]) ||
		strings.Contains(res.Stdout, names[4]+" ") || !strings.Contains(res.Stderr, "5 older runs not shown: --limit 105") {
		t.Errorf("runs paged: exit %d\nstdout: %s\nstderr: %s", res.Code, tail(res.Stdout, 600), res.Stderr)
	}
	if all := must(t, ns, "runs", "paged", "--limit", "0"); strings.Count(all, "Succeeded") != 105 {
		t.Errorf("runs --limit 0 printed %d runs, want 105", strings.Count(all, "Succeeded"))
	}
	if out := must(t, ns, "runs", "paged", "-o", "name"); len(strings.Fields(out)) != 105 {
		t.Errorf("runs -o name printed %d runs, want all 105", len(strings.Fields(out)))
	}

	ui := startUI(t, "-n", ns)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := client.Get(ui.Base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(strings.TrimPrefix(ui.Login, ui.Base)); code != http.StatusOK {
		t.Fatalf("login: %d", code)
	}
	tab := "/namespaces/" + ns + "/jobs/paged"
	code, body := get(tab)
	if code != http.StatusOK || strings.Count(body, `data-run="`) != 100 || !strings.Contains(body, `data-run="`+names[104]+`"`) ||
		strings.Contains(body, `data-run="`+names[4]+`"`) || !strings.Contains(body, "Runs 1–100 of 105") ||
		!strings.Contains(body, `href="`+tab+`?page=2" id="runs-older"`) {
		t.Errorf("Runs tab, page 1: %d\n%s", code, tail(body, 2000))
	}
	code, body = get(tab + "?page=2")
	if code != http.StatusOK || strings.Count(body, `data-run="`) != 5 || !strings.Contains(body, `data-run="`+names[0]+`"`) ||
		!strings.Contains(body, "Runs 101–105 of 105") || !strings.Contains(body, `href="`+tab+`?page=1" id="runs-newer"`) ||
		strings.Contains(body, `id="runs-older"`) {
		t.Errorf("Runs tab, page 2: %d\n%s", code, tail(body, 2000))
	}
	if code, body = get(tab + "?page=0"); code != http.StatusBadRequest || !strings.Contains(body, "is not a page number") {
		t.Errorf("page=0: %d", code)
	}
	// The Jobs page finds jobs by part of their name.
	jobsPage := "/namespaces/" + ns + "/jobs"
	code, body = get(jobsPage + "?q=age")
	if code != http.StatusOK || !strings.Contains(body, `href="`+jobsPage+`/paged"`) || strings.Contains(body, `href="`+jobsPage+`/other"`) ||
		!strings.Contains(body, "Jobs 1–1 of 1 whose name contains “age” (2 in all).") {
		t.Errorf("Jobs page ?q=age: %d\n%s", code, tail(body, 2000))
	}
	if code, _ = get(jobsPage + "?q=a%0Ab"); code != http.StatusBadRequest {
		t.Errorf("Jobs page ?q with a newline: %d, want 400", code)
	}
}
