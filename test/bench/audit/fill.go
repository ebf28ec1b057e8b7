package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// runNames are the runs whose pages are audited.
type runNames struct{ succeeded, failed, running string }

// fill creates the audited jobs in ns: "report" with typed, constrained
// and secret parameters and a real run (KWOK's pod, its simulated logs),
// "nightly" with a schedule, and runs of report that failed and that are
// still running (status set directly, as in uibench).
func fill(ctx context.Context, cs kubernetes.Interface, kubeconfig, plugin, ns string) (runNames, error) {
	report := jobdef.New(ns, "report")
	report.Spec.Image = "example.com/acme/sim"
	report.Spec.Tag = "1"
	report.Spec.Description = "Monthly report for the finance team"
	report.Spec.Parameters = []jobdef.Parameter{
		{Name: "TARGET", Default: "latest", Description: "Release to report on"},
		{Name: "MONTHS", Type: "integer", Default: "3", Description: "How many months back"},
		{Name: "FORMAT", Enum: []string{"pdf", "csv"}, Default: "pdf"},
		{Name: "DRY_RUN", Type: "boolean", Default: "false"},
		{Name: "TICKET", Pattern: "[A-Z]+-[0-9]+", Default: "OPS-1"},
		{Name: "API_TOKEN", Secret: true, Default: "s3cret", Description: "Token of the reporting API"},
	}
	nightly := jobdef.New(ns, "nightly")
	nightly.Spec.Image = "example.com/acme/sim"
	nightly.Spec.Tag = "1"
	nightly.Spec.Parameters = []jobdef.Parameter{{Name: "TARGET", Default: "latest"}}
	nightly.Spec.Schedules = []jobdef.Schedule{
		{Name: "nightly", Cron: "0 3 * * *", TimeZone: "Europe/Helsinki", Parameters: []jobdef.ScheduleParam{{Name: "TARGET", Value: "prod"}}},
		{Name: "hourly", Cron: "@hourly", Suspend: true},
	}
	for _, j := range []*jobdef.Job{report, nightly} {
		sec, err := jobdef.ToSecret(j)
		if err != nil {
			return runNames{}, err
		}
		if _, err := cs.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
			return runNames{}, fmt.Errorf("create job %s: %w", j.Name, err)
		}
	}
	// The schedule leader's heartbeat, so that the next runs show.
	now := metav1.NewMicroTime(time.Now())
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "shipjob-schedules"},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("audit"), LeaseDurationSeconds: ptr(int32(3600)), RenewTime: &now}}
	if _, err := cs.CoordinationV1().Leases(ns).Create(ctx, lease, metav1.CreateOptions{}); err != nil {
		return runNames{}, fmt.Errorf("create the schedules lease: %w", err)
	}

	// A real run, as a user triggers it.
	cmd := exec.CommandContext(ctx, plugin, "run", "report", "-n", ns, "-p", "MONTHS=6", "--wait", "--wait-timeout", "2m", "-o", "name")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return runNames{}, fmt.Errorf("run report: %w", err)
	}
	names := runNames{succeeded: lastWord(string(out)), failed: "report-failed", running: "report-running"}
	t0 := time.Now().Add(-time.Hour)
	for _, r := range []struct {
		name, job, by string
		state         string
	}{
		{names.failed, "report", "user:audit", "failed"},
		{names.running, "report", "user:audit", "running"},
		{"nightly-1", "nightly", "schedule:nightly", "succeeded"},
	} {
		created, err := cs.BatchV1().Jobs(ns).Create(ctx, runJob(r.name, r.job, r.by), metav1.CreateOptions{})
		if err != nil {
			return runNames{}, fmt.Errorf("create run %s: %w", r.name, err)
		}
		setState(created, t0, r.state)
		if _, err := cs.BatchV1().Jobs(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return runNames{}, fmt.Errorf("set the state of run %s: %w", r.name, err)
		}
	}
	return names, nil
}

// lastWord is the name of "kind/name" output.
func lastWord(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "/")+1:]
}

// runJob is a run-shaped Job of job that no controller runs.
func runJob(name, job, by string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"shipjob.dev/kind": "run", "shipjob.dev/job": job, "shipjob.dev/run": name},
			Annotations: map[string]string{"shipjob.dev/triggered-by": by, "shipjob.dev/image": "example.com/acme/sim:1",
				"shipjob.dev/parameters": `{"TARGET":"v1"}`}},
		Spec: batchv1.JobSpec{ManagedBy: ptr("shipjob.dev/audit"), BackoffLimit: new(int32), Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"shipjob.dev/job": job, "shipjob.dev/run": name}},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
				Name: "job", Image: "example.com/acme/sim:1"}}}}},
	}
}

// setState records j as started at t0 and, unless running, ended 5 s later.
func setState(j *batchv1.Job, t0 time.Time, state string) {
	start, end := metav1.NewTime(t0), metav1.NewTime(t0.Add(5*time.Second))
	switch state {
	case "succeeded":
		j.Status = batchv1.JobStatus{StartTime: &start, CompletionTime: &end, Succeeded: 1, Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: end},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: end}}}
	case "failed":
		j.Status = batchv1.JobStatus{StartTime: &start, Failed: 1, Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonBackoffLimitExceeded, LastTransitionTime: end},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonBackoffLimitExceeded, LastTransitionTime: end}}}
	default:
		j.Status = batchv1.JobStatus{StartTime: &start, Active: 1}
	}
}

func ptr[T any](v T) *T { return &v }
