package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// simJob is a Job manifest for the simulated node; env steers the workload.
func simJob(name string, env map[string]string, mutate func(*batchv1.Job)) string {
	var envs []corev1.EnvVar
	for k, v := range env {
		envs = append(envs, corev1.EnvVar{Name: k, Value: v})
	}
	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit: new(int32),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "main", Image: "example.com/sim:1", Env: envs}},
			}},
		},
	}
	if mutate != nil {
		mutate(job)
	}
	data, err := json.Marshal(job)
	if err != nil {
		panic(err)
	}
	return string(data)
}

func applyJob(t *testing.T, ns, manifest string) {
	t.Helper()
	res := cluster.Run(t, manifest, "kubectl", "-n", ns, "create", "-f", "-")
	if res.Code != 0 {
		t.Fatalf("kubectl create: %s", res.Stderr)
	}
}

func TestSimulatedExitCode(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	applyJob(t, ns, simJob("exit3", map[string]string{"SIM_EXIT_CODE": "3"}, nil))
	waitJob(t, ns, "exit3", time.Minute, func(j *batchv1.Job, err error) bool {
		return err == nil && jobCondition(j, batchv1.JobFailed) != nil
	})
	out := cluster.Kubectl(t, "-n", ns, "get", "pods", "-l", "job-name=exit3",
		"-o", "jsonpath={.items[0].status.containerStatuses[0].state.terminated.exitCode}")
	if out != "3" {
		t.Fatalf("exit code = %q, want 3", out)
	}
}

func TestSimulatedSuccessAndLogs(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	applyJob(t, ns, simJob("ok", nil, nil))
	waitJob(t, ns, "ok", time.Minute, func(j *batchv1.Job, err error) bool {
		return err == nil && jobCondition(j, batchv1.JobComplete) != nil
	})
	out := cluster.Kubectl(t, "-n", ns, "logs", "job/ok")
	want := strings.Join(cluster.SimulatedLogLines, "\n") + "\n"
	if out != want {
		t.Fatalf("kubectl logs = %q, want %q", out, want)
	}
}

func TestActiveDeadlineExceeded(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	applyJob(t, ns, simJob("slow", map[string]string{"SIM_DURATION": "60s"}, func(j *batchv1.Job) {
		j.Spec.ActiveDeadlineSeconds = ptr(int64(3))
	}))
	start := time.Now()
	waitJob(t, ns, "slow", time.Minute, func(j *batchv1.Job, err error) bool {
		c := jobCondition(j, batchv1.JobFailed)
		return err == nil && c != nil && c.Reason == batchv1.JobReasonDeadlineExceeded
	})
	if d := time.Since(start); d < 2*time.Second {
		t.Fatalf("job failed after %s, before its 3s deadline", d)
	}
}

func TestSimulatedDuration(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	applyJob(t, ns, simJob("three", map[string]string{"SIM_DURATION": "3s"}, nil))
	waitJob(t, ns, "three", time.Minute, func(j *batchv1.Job, err error) bool {
		return err == nil && jobCondition(j, batchv1.JobComplete) != nil
	})
	out := cluster.Kubectl(t, "-n", ns, "get", "pods", "-l", "job-name=three", "-o", "json")
	var pods corev1.PodList
	if err := json.Unmarshal([]byte(out), &pods); err != nil {
		t.Fatal(err)
	}
	term := pods.Items[0].Status.ContainerStatuses[0].State.Terminated
	if term == nil {
		t.Fatalf("container not terminated: %+v", pods.Items[0].Status)
	}
	if ran := term.FinishedAt.Sub(term.StartedAt.Time); ran < 2*time.Second || ran > 10*time.Second {
		t.Fatalf("container ran %s, want about 3s", ran)
	}
}

func TestTTLControllerDeletesFinishedJob(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	applyJob(t, ns, simJob("ttl", nil, func(j *batchv1.Job) {
		j.Spec.TTLSecondsAfterFinished = ptr(int32(2))
	}))
	waitJob(t, ns, "ttl", time.Minute, func(j *batchv1.Job, err error) bool {
		return apierrors.IsNotFound(err)
	})
	// The garbage collector removes the Job's pods too.
	cs, _ := cluster.Shared.Client()
	left, err := 0, error(nil)
	poll(t, 30*time.Second, 200*time.Millisecond, "the pods of the deleted job to go", func() bool {
		var pods *corev1.PodList
		pods, err = cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "job-name=ttl"})
		left = len(pods.Items)
		return err == nil && left == 0
	}, func() string { return fmt.Sprintf("%d pods remain, err %v", left, err) })
}

func TestLimitedUserIsNamespaceScoped(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, true)
	other := cluster.Namespace(t, false)
	as := []string{"--context", cluster.LimitedContext}
	secret := `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"stringData":{"k":"v"}}`
	for _, m := range []string{secret, simJob("mine", nil, nil)} {
		if res := cluster.Run(t, m, "kubectl", append(as, "-n", ns, "create", "-f", "-")...); res.Code != 0 {
			t.Fatalf("limited user in own namespace: %s", res.Stderr)
		}
		res := cluster.Run(t, m, "kubectl", append(as, "-n", other, "create", "-f", "-")...)
		if res.Code == 0 || !strings.Contains(res.Stderr, "Forbidden") {
			t.Fatalf("limited user elsewhere: exit %d, stderr %q; want Forbidden", res.Code, res.Stderr)
		}
	}
	res := cluster.Run(t, "", "kubectl", append(as, "get", "nodes")...)
	if res.Code == 0 || !strings.Contains(res.Stderr, "Forbidden") {
		t.Fatalf("limited user listed nodes: %q", res.Stderr)
	}
}

func TestPluginVersionThroughKubectl(t *testing.T) {
	t.Parallel()
	res := cluster.Run(t, "", "kubectl", "shipjob", "version", "-o", "json")
	if res.Code != 0 {
		t.Fatalf("kubectl shipjob version: exit %d: %s", res.Code, res.Stderr)
	}
	var info map[string]string
	if err := json.Unmarshal([]byte(res.Stdout), &info); err != nil {
		t.Fatalf("version -o json: %v: %q", err, res.Stdout)
	}
	for _, k := range []string{"version", "commit", "goVersion", "clientGoVersion"} {
		if info[k] == "" {
			t.Errorf("version field %s empty: %v", k, info)
		}
	}
	if list := cluster.Kubectl(t, "plugin", "list"); !strings.Contains(list, cluster.PluginBin) {
		t.Fatalf("kubectl plugin list does not show %s:\n%s", cluster.PluginBin, list)
	}
	help := cluster.Run(t, "", "kubectl", "shipjob", "--help")
	if help.Code != 0 || !strings.Contains(help.Stdout, "kubectl shipjob [command]") {
		t.Fatalf("help: exit %d %q", help.Code, help.Stdout)
	}
}

func ptr[T any](v T) *T { return &v }
