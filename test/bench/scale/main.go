// Command scale measures kubectl-shipjob at scale on the local cluster
// (issue 23): a trigger of a job that keeps many runs against one of a job
// with none, `runs JOB` over them, and `hooks serve` over many hooks (time
// to ready, resident memory). API requests are counted from the API
// server's audit log by user agent. `make bench-scale` runs it at size N
// and N/10, with runbench's `list` and uibench's Jobs page over 10,000 and
// 1,000 definitions.
//
//	make cluster-up && make build
//	go run ./test/bench/scale -state .cache/cluster-state -plugin bin/kubectl-shipjob -runs 5000 -hooks 10000
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"github.com/shipjob/kubectl-shipjob/test/bench/benchkit"
	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

func main() {
	state := flag.String("state", ".cache/cluster-state", "state dir of a cluster started by make cluster-up")
	plugin := flag.String("plugin", "bin/kubectl-shipjob", "kubectl-shipjob binary under test")
	runs := flag.Int("runs", 5000, "finished runs kept by one job (0: skip)")
	hooks := flag.Int("hooks", 10000, "deploy hooks of the namespace `hooks serve` serves (0: skip)")
	n := flag.Int("n", 7, "measured repetitions of each operation")
	flag.Parse()
	if err := scale(*state, *plugin, *runs, *hooks, *n); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func scale(state, plugin string, runs, hooks, n int) error {
	c, plugin, err := benchkit.Running(state, plugin)
	if err != nil {
		return err
	}
	cs, err := c.Client()
	if err != nil {
		return err
	}
	env := append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	if runs > 0 {
		if err := keptRuns(c, cs, env, plugin, runs, n); err != nil {
			return err
		}
	}
	if hooks > 0 {
		if err := hookServe(c, cs, env, plugin, hooks); err != nil {
			return err
		}
	}
	return nil
}

// keptRuns: job "kept" keeps runs finished runs (as many as its history
// limits allow of its own, the rest from an earlier definition of that name,
// all marked finished as a trigger leaves them); job "fresh" has none.
// Triggers of the two alternate.
func keptRuns(c *cluster.Cluster, cs kubernetes.Interface, env []string, plugin string, runs, n int) error {
	ctx := context.Background()
	ns := fmt.Sprintf("scale-runs-%d", time.Now().Unix())
	if err := c.CreateNamespace(ctx, ns); err != nil {
		return err
	}
	limit := strconv.Itoa(jobdef.MaxRunsHistoryLimit)
	for _, name := range []string{"kept", "fresh"} {
		if out, err := benchkit.Command(env, plugin, "create", name, "-n", ns, "--image", "example.com/acme/sim:1", "--max-active-runs", "0",
			"--succeeded-runs-history-limit", limit, "--failed-runs-history-limit", limit).CombinedOutput(); err != nil {
			return fmt.Errorf("create job %s: %w: %s", name, err, out)
		}
	}
	def, err := (&jobdef.Store{Client: cs, Namespace: ns}).Get(ctx, "kept")
	if err != nil {
		return err
	}
	start := time.Now()
	err = parallel(runs, func(i int) error {
		// The newest 2×limit are the definition's own, half failed.
		uid, outcome := "an-earlier-definition", "succeeded"
		if own := i - (runs - 2*jobdef.MaxRunsHistoryLimit); own >= 0 {
			uid = string(def.UID)
			if own%2 == 1 {
				outcome = "failed"
			}
		}
		return finishedRun(ctx, cs, ns, "kept", i, uid, outcome, start)
	})
	if err != nil {
		return fmt.Errorf("create runs: %w", err)
	}
	fmt.Fprintf(os.Stderr, "created %d finished runs in %s\n", runs, time.Since(start).Round(time.Second))
	ops := []*benchkit.Op{
		{Name: "kubectl-shipjob run fresh (no runs)", Agent: "kubectl-shipjob/", Cmd: func(int) *exec.Cmd {
			return benchkit.Command(env, plugin, "run", "fresh", "-n", ns)
		}},
		{Name: fmt.Sprintf("kubectl-shipjob run kept (%d kept runs)", runs), Agent: "kubectl-shipjob/", Cmd: func(int) *exec.Cmd {
			return benchkit.Command(env, plugin, "run", "kept", "-n", ns)
		}},
		{Name: "kubectl get jobs -l shipjob.dev/job=kept", Agent: "kubectl/", Cmd: func(int) *exec.Cmd {
			return benchkit.Command(env, "kubectl", "get", "jobs", "-n", ns, "-l", run.LabelJob+"=kept")
		}},
		{Name: "kubectl-shipjob runs kept (the newest 100)", Agent: "kubectl-shipjob/", Cmd: func(int) *exec.Cmd {
			return benchkit.Command(env, plugin, "runs", "kept", "-n", ns)
		}},
		{Name: "kubectl-shipjob runs kept --limit 0 (all)", Agent: "kubectl-shipjob/", Cmd: func(int) *exec.Cmd {
			return benchkit.Command(env, plugin, "runs", "kept", "-n", ns, "--limit", "0")
		}},
	}
	if err := benchkit.Measure(c.AuditLog, ops, n, 1); err != nil {
		return err
	}
	benchkit.PrintTable(ops, n)
	return nil
}

// finishedRun creates a run-shaped Job recorded as finished: spec.managedBy
// keeps the Job controller out (no pods: thousands of them through KWOK
// take long on 2 cores).
func finishedRun(ctx context.Context, cs kubernetes.Interface, ns, job string, i int, uid, outcome string, start time.Time) error {
	name := fmt.Sprintf("%s-%07d", job, i)
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{run.LabelKind: run.KindRun, run.LabelJob: job, run.LabelRun: name, run.LabelFinished: outcome, run.LabelFinishedOf: uid},
			Annotations: map[string]string{run.AnnotationJobUID: uid, "shipjob.dev/triggered-by": "user:bench",
				"shipjob.dev/image": "example.com/acme/sim:1", "helm.sh/resource-policy": "keep"}},
		Spec: batchv1.JobSpec{ManagedBy: ptr("shipjob.dev/bench"), BackoffLimit: new(int32), Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
				Name: "job", Image: "example.com/acme/sim:1"}}}}},
	}
	created, err := cs.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	t0 := metav1.NewTime(start.Add(time.Duration(i) * time.Second))
	t1 := metav1.NewTime(t0.Add(3 * time.Second))
	created.Status = batchv1.JobStatus{StartTime: &t0, CompletionTime: &t1, Succeeded: 1, Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: t1},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: t1}}}
	if outcome == "failed" {
		created.Status = batchv1.JobStatus{StartTime: &t0, Failed: 1, Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, LastTransitionTime: t1, Reason: batchv1.JobReasonBackoffLimitExceeded},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, LastTransitionTime: t1, Reason: batchv1.JobReasonBackoffLimitExceeded}}}
	}
	_, err = cs.BatchV1().Jobs(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	return err
}

// hookServe creates hooks deploy hooks of one job, then starts `hooks
// serve` for the namespace and reports the time until /readyz answers 200
// and the server's resident memory then (and its peak).
func hookServe(c *cluster.Cluster, cs kubernetes.Interface, env []string, plugin string, hooks int) error {
	ctx := context.Background()
	ns := fmt.Sprintf("scale-hooks-%d", time.Now().Unix())
	if err := c.CreateNamespace(ctx, ns); err != nil {
		return err
	}
	if out, err := benchkit.Command(env, plugin, "create", "hooked", "-n", ns, "--image", "example.com/acme/sim:1").CombinedOutput(); err != nil {
		return fmt.Errorf("create job: %w: %s", err, out)
	}
	def, err := (&jobdef.Store{Client: cs, Namespace: ns}).Get(ctx, "hooked")
	if err != nil {
		return err
	}
	start := time.Now()
	err = parallel(hooks, func(i int) error {
		id, token, err := hook.NewToken()
		if err != nil {
			return err
		}
		_, err = cs.CoreV1().Secrets(ns).Create(ctx, hook.ToSecret(def, id, token, fmt.Sprintf("hook-%05d", i), "user:bench"), metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("create hooks: %w", err)
	}
	fmt.Fprintf(os.Stderr, "created %d hooks in %s\n", hooks, time.Since(start).Round(time.Second))
	for _, size := range []int{0, hooks} {
		target := ns
		if size == 0 {
			empty := ns + "-none"
			if err := c.CreateNamespace(ctx, empty); err != nil {
				return err
			}
			target = empty
		}
		ready, rss, peak, err := serveUntilReady(env, plugin, target)
		if err != nil {
			return err
		}
		fmt.Printf("| `hooks serve` over %d hooks | %.2f s to ready | RSS %d MiB (peak %d MiB) |\n", size, ready.Seconds(), rss>>10, peak>>10)
	}
	return nil
}

// serveUntilReady starts `hooks serve -n ns`, waits for /readyz, reads its
// VmRSS and VmHWM (KiB) and stops it.
func serveUntilReady(env []string, plugin, ns string) (time.Duration, int, int, error) {
	cmd := benchkit.Command(env, plugin, "hooks", "serve", "-n", ns, "--listen", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, 0, 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
			}
		}
	}()
	deadline := time.After(5 * time.Minute)
	var url string
	select {
	case a := <-addr:
		url = "http://" + a + "/readyz"
	case <-deadline:
		return 0, 0, 0, errors.New("hooks serve did not listen within 5 minutes")
	}
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-deadline:
			return 0, 0, 0, errors.New("hooks serve not ready within 5 minutes")
		case <-time.After(20 * time.Millisecond):
		}
	}
	ready := time.Since(start)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return 0, 0, 0, err
	}
	return ready, procKiB(string(status), "VmRSS:"), procKiB(string(status), "VmHWM:"), nil
}

func procKiB(status, key string) int {
	for _, l := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(l, key); ok {
			v, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return v
		}
	}
	return 0
}

// parallel runs fn(0..n-1), 32 at a time, and returns the first error.
func parallel(n int, fn func(i int) error) error {
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(i); err != nil {
				mu.Lock()
				first = cmpOr(first, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func ptr[T any](v T) *T { return &v }
