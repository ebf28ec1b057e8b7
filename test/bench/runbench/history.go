package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/bench/benchkit"
	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// history measures `runs` over a job with n finished runs: it creates n
// run-shaped Jobs and records them as succeeded (spec.managedBy keeps the Job
// controller out: running 10,000 pods through KWOK takes hours on 2 cores),
// then times `kubectl-shipjob runs` next to `kubectl get jobs` over them.
func history(c *cluster.Cluster, plugin string, n, reps int) error {
	ctx := context.Background()
	cs, err := c.Client()
	if err != nil {
		return err
	}
	ns := fmt.Sprintf("history-%d", time.Now().Unix())
	if err := c.CreateNamespace(ctx, ns); err != nil {
		return err
	}
	env := append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	if out, err := benchkit.Command(env, plugin, "create", "history", "-n", ns, "--image", "example.com/acme/sim:1").CombinedOutput(); err != nil {
		return fmt.Errorf("create job: %w: %s", err, out)
	}
	start := time.Now()
	sem := make(chan struct{}, 32)
	errs := make(chan error, n)
	for i := range n {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			name := fmt.Sprintf("history-%07d", i)
			job := &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
					"shipjob.dev/kind": "run", "shipjob.dev/job": "history", "shipjob.dev/run": name},
					Annotations: map[string]string{"shipjob.dev/triggered-by": "user:bench", "shipjob.dev/image": "example.com/acme/sim:1",
						"shipjob.dev/parameters": `{"TARGET":"v` + strconv.Itoa(i) + `"}`, "helm.sh/resource-policy": "keep"}},
				Spec: batchv1.JobSpec{ManagedBy: ptr("shipjob.dev/bench"), BackoffLimit: new(int32), Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"shipjob.dev/job": "history", "shipjob.dev/run": name}},
					Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
						Name: "job", Image: "example.com/acme/sim:1", Env: []corev1.EnvVar{{Name: "SIM_DURATION", Value: "100ms"}}}}}}},
			}
			created, err := cs.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
			if err == nil {
				t0 := metav1.NewTime(start.Add(time.Duration(i) * time.Second))
				t1 := metav1.NewTime(t0.Add(3 * time.Second))
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
			return fmt.Errorf("create run: %w", err)
		}
	}
	fmt.Fprintf(os.Stderr, "created %d finished runs in %s\n", n, time.Since(start).Round(time.Second))
	ops := []*benchkit.Op{
		{Name: "kubectl get jobs -l shipjob.dev/job=history", Agent: "kubectl/", Cmd: func(int) *exec.Cmd {
			return benchkit.Command(env, "kubectl", "get", "jobs", "-n", ns, "-l", "shipjob.dev/job=history")
		}},
		{Name: fmt.Sprintf("kubectl-shipjob runs history (%d finished runs)", n), Agent: "kubectl-shipjob/", Cmd: func(int) *exec.Cmd {
			return benchkit.Command(env, plugin, "runs", "history", "-n", ns)
		}},
	}
	if err := benchkit.Measure(c.AuditLog, ops, reps, 1); err != nil {
		return err
	}
	benchkit.PrintTable(ops, reps)
	return nil
}

func ptr[T any](v T) *T { return &v }
