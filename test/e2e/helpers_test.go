package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// Helpers shared by every area of the suite; an area's own helpers are in
// <area>_helpers_test.go.

// Commands: kubectl shipjob through real kubectl.

// shipjob runs `kubectl shipjob args...` through real kubectl.
func shipjob(t *testing.T, args ...string) cluster.Result {
	t.Helper()
	return cluster.Run(t, "", "kubectl", append([]string{"shipjob"}, args...)...)
}

// mustShipjob runs `kubectl shipjob args...` and fails t unless it exits 0.
func mustShipjob(t *testing.T, args ...string) string {
	t.Helper()
	res := shipjob(t, args...)
	if res.Code != 0 {
		t.Fatalf("kubectl shipjob %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), res.Code, res.Stdout, res.Stderr)
	}
	return res.Stdout
}

// sj runs `kubectl shipjob -n ns args...` with stdin and extra environment
// (env "K=V" entries go through env(1)).
func sj(t *testing.T, ns, stdin string, env []string, args ...string) cluster.Result {
	t.Helper()
	argv := append([]string{"kubectl", "shipjob", "-n", ns}, args...)
	return cluster.Run(t, stdin, "env", append(env, argv...)...)
}

// must is sj that fails t unless it exits 0; it returns stdout.
func must(t *testing.T, ns string, args ...string) string {
	t.Helper()
	res := sj(t, ns, "", nil, args...)
	if res.Code != 0 {
		t.Fatalf("kubectl shipjob %s: exit %d: %s", strings.Join(args, " "), res.Code, res.Stderr)
	}
	return res.Stdout
}

// runName extracts the run name from "run.shipjob.dev/<name> created".
func runName(t *testing.T, out string) string {
	t.Helper()
	line := strings.TrimSpace(out)
	name, ok := strings.CutPrefix(strings.Fields(line)[0], "run.shipjob.dev/")
	if !ok {
		t.Fatalf("unexpected run output %q", out)
	}
	return name
}

// trigger starts a run of job with `kubectl shipjob run` and returns its name.
func trigger(t *testing.T, ns, job string, args ...string) string {
	t.Helper()
	return runName(t, mustShipjob(t, append([]string{"run", job, "-n", ns}, args...)...))
}

// createSimJob creates a job definition whose runs are steered by env.
// Unless extra sets them, the job has no limit of active runs nor of its
// trigger rate, and keeps 1000 finished runs: these tests trigger many
// runs at once (the limits have tests of their own).
func createSimJob(t *testing.T, ns, name string, extra ...string) {
	t.Helper()
	args := append([]string{"create", name, "-n", ns, "--image", "example.com/acme/sim:1"}, extra...)
	if !slices.Contains(extra, "--max-active-runs") {
		args = append(args, "--max-active-runs", "0")
	}
	for flag, v := range map[string]string{"--max-runs-per-minute": "0", "--succeeded-runs-history-limit": "1000", "--failed-runs-history-limit": "1000"} {
		if !slices.Contains(extra, flag) {
			args = append(args, flag, v)
		}
	}
	mustShipjob(t, args...)
}

// writeTemp writes content to a file in t's temporary directory.
func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := t.TempDir() + "/file"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Reading the cluster.

func getJob(t *testing.T, ns, name string) *batchv1.Job {
	t.Helper()
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	job, err := cs.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get job %s/%s: %v", ns, name, err)
	}
	return job
}

func jobCondition(job *batchv1.Job, typ batchv1.JobConditionType) *batchv1.JobCondition {
	if job == nil {
		return nil
	}
	for i, c := range job.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			return &job.Status.Conditions[i]
		}
	}
	return nil
}

// runStatus is one item of `runs -o json`.
type runStatus struct {
	Name       string            `json:"name"`
	Phase      string            `json:"phase"`
	Reason     string            `json:"reason"`
	Message    string            `json:"message"`
	ExitCode   *int32            `json:"exitCode"`
	Trigger    string            `json:"triggeredBy"`
	RerunOf    string            `json:"rerunOf"`
	Image      string            `json:"image"`
	Parameters map[string]string `json:"parameters"`
}

func listRuns(t *testing.T, ns, job string) []runStatus {
	t.Helper()
	out := mustShipjob(t, "runs", job, "-n", ns, "-o", "json")
	var list struct {
		Kind  string `json:"kind"`
		Items []struct {
			Status runStatus `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || list.Kind != "RunList" {
		t.Fatalf("runs -o json: %v (kind %q): %s", err, list.Kind, out)
	}
	var runs []runStatus
	for _, it := range list.Items {
		runs = append(runs, it.Status)
	}
	return runs
}

// filesSecretOf is the files Secret run's Job mounts (shared by the runs
// with the same files).
func filesSecretOf(t *testing.T, ns, run string) string {
	t.Helper()
	for _, v := range getJob(t, ns, run).Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			return v.Secret.SecretName
		}
	}
	t.Fatalf("run %s mounts no files Secret", run)
	return ""
}

// objectVersions fingerprints everything a trigger could write in ns,
// less the hook servers' leader-election Lease (its holder renews it every
// few seconds whatever a trigger does).
func objectVersions(t *testing.T, ns string) string {
	t.Helper()
	out := cluster.Kubectl(t, "-n", ns, "get", "secrets,jobs,pods,leases", "-o",
		"custom-columns=KIND:.kind,NAME:.metadata.name,RV:.metadata.resourceVersion", "--sort-by=.metadata.name")
	var keep []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "Lease" && f[1] == "shipjob-hooks" {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// snapshot maps every Secret and batch Job in ns to its resourceVersion.
func snapshot(t *testing.T, ns string) map[string]string {
	t.Helper()
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx, out := context.Background(), map[string]string{}
	secrets, err := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		out["secret/"+s.Name] = s.ResourceVersion
	}
	jobs, err := cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs.Items {
		out["job/"+j.Name] = j.ResourceVersion
	}
	return out
}

// Waiting.

// eventually waits until cond holds, trying every 200 ms; after timeout
// it fails t ("timed out after … waiting for what").
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	poll(t, timeout, 200*time.Millisecond, what, cond, nil)
}

// poll is eventually with its own interval; last, if not nil, describes
// the state of the last try for the failure message.
func poll(t *testing.T, timeout, every time.Duration, what string, cond func() bool, last func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			if last != nil {
				t.Fatalf("timed out after %s waiting for %s (last: %s)", timeout, what, last())
			}
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(every)
	}
}

// waitJob polls the Job until cond returns true or the timeout ends.
func waitJob(t *testing.T, ns, name string, timeout time.Duration, cond func(*batchv1.Job, error) bool) {
	t.Helper()
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	var job *batchv1.Job
	poll(t, timeout, 200*time.Millisecond, "a condition of job "+ns+"/"+name, func() bool {
		job, err = cs.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{})
		return cond(job, err)
	}, func() string { return fmt.Sprintf("%v, err %v", job.Status, err) })
}

// Text.

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
