package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// runsOf counts the run Jobs of job by their finished label ("" for runs
// not marked finished yet).
func runsOf(t *testing.T, ns, job string) map[string]int {
	t.Helper()
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	list, err := cs.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "shipjob.dev/kind=run,shipjob.dev/job=" + job})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, j := range list.Items {
		if j.DeletionTimestamp == nil {
			out[j.Labels["shipjob.dev/finished"]]++
		}
	}
	return out
}

// TestHistoryLimitsKeepFinishedRunsBounded: a job keeps at most its history
// limits of finished runs, whatever their retention; the limits round-trip
// through get -o yaml and apply, and list -o wide shows them.
func TestHistoryLimitsKeepFinishedRunsBounded(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "hist", "--env", "SIM_DURATION=1s", "--param", "SIM_EXIT_CODE=3",
		"--succeeded-runs-history-limit", "1", "--failed-runs-history-limit", "2", "--retention", "none")
	for i := range 4 {
		if res := shipjob(t, "run", "hist", "-n", ns, "--wait"); res.Code != 3 {
			t.Fatalf("run %d --wait: exit %d, want 3: %s", i, res.Code, res.Stderr)
		}
	}
	if res := shipjob(t, "run", "hist", "-n", ns, "--wait", "--param", "SIM_EXIT_CODE=0"); res.Code != 0 {
		t.Fatalf("succeeding run: exit %d: %s", res.Code, res.Stderr)
	}
	trigger(t, ns, "hist")
	got := runsOf(t, ns, "hist")
	if got["failed"] != 2 || got["succeeded"] != 1 || got[""] != 1 {
		t.Errorf("runs kept by outcome: %v, want 2 failed, 1 succeeded and the new run", got)
	}
	if n := len(listRuns(t, ns, "hist")); n != 4 {
		t.Errorf("runs lists %d runs, want 4", n)
	}
	yaml := mustShipjob(t, "get", "hist", "-n", ns, "-o", "yaml")
	for _, want := range []string{"succeededRunsHistoryLimit: 1\n", "failedRunsHistoryLimit: 2\n", "maxRunsPerMinute: 0\n"} {
		if !strings.Contains(yaml, want) {
			t.Errorf("get -o yaml lacks %q:\n%s", want, yaml)
		}
	}
	if out := cluster.Run(t, yaml, "kubectl", "shipjob", "apply", "-f", "-", "-n", ns); out.Code != 0 || !strings.Contains(out.Stdout, "unchanged") {
		t.Errorf("apply of get -o yaml: exit %d %q %q, want unchanged", out.Code, out.Stdout, out.Stderr)
	}
	changed := strings.Replace(yaml, "failedRunsHistoryLimit: 2", "failedRunsHistoryLimit: 0", 1)
	cluster.Run(t, changed, "kubectl", "shipjob", "apply", "-f", "-", "-n", ns)
	if wide := mustShipjob(t, "list", "-n", ns, "-o", "wide"); !strings.Contains(wide, "keeps 1 succeeded, 0 failed; no rate limit") {
		t.Errorf("list -o wide does not show the limits:\n%s", wide)
	}
}

// TestEarlierDefinitionsRunsAreLeftOut: runs a deleted job of the same name
// left (delete --keep-runs) are marked finished with that definition's UID
// (shipjob.dev/finished-of), so a trigger of the job created again neither
// reads them again nor prunes them; its own runs are marked with its UID
// and pruned by its limits.
func TestEarlierDefinitionsRunsAreLeftOut(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	uid := func() string {
		s, err := cs.CoreV1().Secrets(ns).Get(context.Background(), "shipjob-job-gen", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return string(s.UID)
	}
	create := func() string {
		createSimJob(t, ns, "gen", "--env", "SIM_DURATION=1s", "--succeeded-runs-history-limit", "1", "--failed-runs-history-limit", "1", "--retention", "none")
		return uid()
	}
	waitRuns := func(n int) {
		for i := range n {
			if res := shipjob(t, "run", "gen", "-n", ns, "--wait"); res.Code != 0 {
				t.Fatalf("run %d --wait: exit %d: %s", i, res.Code, res.Stderr)
			}
		}
	}
	earlier := create()
	waitRuns(2)
	mustShipjob(t, "delete", "gen", "-n", ns, "--keep-runs")
	now := create()
	if now == earlier {
		t.Fatalf("the job created again has the same UID %s", now)
	}
	waitRuns(2)
	trigger(t, ns, "gen")
	list, err := cs.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "shipjob.dev/kind=run,shipjob.dev/job=gen"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, j := range list.Items {
		if j.DeletionTimestamp == nil {
			got[j.Labels["shipjob.dev/finished-of"]+"/"+j.Labels["shipjob.dev/finished"]]++
		}
	}
	want := map[string]int{earlier + "/succeeded": 2, now + "/succeeded": 1, "/": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("runs by finished-of/finished: %v, want %v (earlier %s, now %s)", got, want, earlier, now)
	}
}

// TestVolumeBoundsBadInput: out-of-range limits and tasks × parallelism are
// one-line errors, exit 1, and nothing changes in the cluster.
func TestVolumeBoundsBadInput(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "ok")
	img := []string{"--image", "example.com/acme/sim:1"}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"negative history", append([]string{"create", "bad", "-n", ns, "--failed-runs-history-limit", "-1"}, img...), "error: invalid failedRunsHistoryLimit -1: must be between 0 (keep no finished run) and 1000"},
		{"history too long", []string{"set", "ok", "-n", ns, "--succeeded-runs-history-limit", "1001"}, "error: invalid succeededRunsHistoryLimit 1001: must be between 0 (keep no finished run) and 1000"},
		{"rate too high", []string{"set", "ok", "-n", ns, "--max-runs-per-minute", "6001"}, "error: invalid maxRunsPerMinute 6001: must be between 0 (no limit) and 6000"},
		{"tasks × parallelism", append([]string{"create", "wide", "-n", ns, "--tasks", "3000", "--parallelism", "300"}, img...), "error: invalid tasks 3000 × parallelism 300 = 900000: must be at most 100000 (lower parallelism to 33 or fewer)"},
		{"run --tasks over the cap", []string{"run", "ok", "-n", ns, "--tasks", "1000"}, "error: invalid tasks 1000 × parallelism 1000 = 1000000: must be at most 100000 (lower parallelism to 100 or fewer)"},
	} {
		before := objectVersions(t, ns)
		res := shipjob(t, c.args...)
		if res.Code != 1 || strings.TrimSpace(res.Stderr) != c.want {
			t.Errorf("%s: exit %d, stderr %q, want exit 1 with %q", c.name, res.Code, res.Stderr, c.want)
		}
		if after := objectVersions(t, ns); after != before {
			t.Errorf("%s changed the cluster:\n%s\n->\n%s", c.name, before, after)
		}
	}
}

// TestTriggerRateSharedByCLIAndHooks: maxRunsPerMinute 2 is one budget for
// the CLI and the hook server: two CLI runs use it up, the third is exit 1
// with one line saying when to retry, a hook call is a 429 with
// Retry-After, and nothing is written for either.
func TestTriggerRateSharedByCLIAndHooks(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "paced", "--max-runs-per-minute", "2")
	_, token := createHook(t, ns, "paced", "ci")
	srv := startHookServer(t, "-n", ns, "--rate-limit", "0")
	for range 2 {
		trigger(t, ns, "paced")
	}
	// The two runs go on (their Jobs and pods change): what a trigger
	// writes first is Secrets (its release record, files).
	secrets := func() string {
		return cluster.Kubectl(t, "-n", ns, "get", "secrets", "-o", "custom-columns=NAME:.metadata.name,RV:.metadata.resourceVersion", "--sort-by=.metadata.name")
	}
	before := secrets()
	res := shipjob(t, "run", "paced", "-n", ns)
	if res.Code != 1 || !strings.HasPrefix(res.Stderr, "error: job paced is limited to 2 runs per minute (maxRunsPerMinute): retry in ") ||
		strings.Count(res.Stderr, "\n") != 1 {
		t.Errorf("third run: exit %d, stderr %q", res.Code, res.Stderr)
	}
	if after := secrets(); after != before {
		t.Errorf("a refused trigger wrote Secrets:\n%s\n->\n%s", before, after)
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/dh", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Deploy-Hook-Token", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hookClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("hook call: %d, Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if after := secrets(); after != before {
		t.Errorf("a refused hook call wrote Secrets:\n%s\n->\n%s", before, after)
	}
	if n := len(runJobs(t, ns, "paced")); n != 2 {
		t.Errorf("%d runs, want 2", n)
	}
}

// TestResourceQuotaAllowsTheNormalFlow: the ResourceQuota docs/security.md
// recommends for a jobs namespace lets create, run and runs work.
func TestResourceQuotaAllowsTheNormalFlow(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	cluster.Kubectl(t, "apply", "-n", ns, "-f", "testdata/jobs-resourcequota.yaml")
	eventually(t, 30*time.Second, "the quota's status", func() bool {
		return cluster.Kubectl(t, "get", "resourcequota", "shipjob-runs", "-n", ns, "-o", "jsonpath={.status.hard}") != ""
	})
	mustShipjob(t, "create", "quota", "-n", ns, "--image", "example.com/acme/sim:1", "--file", "/etc/app.conf="+writeTemp(t, "x=1"))
	if res := shipjob(t, "run", "quota", "-n", ns, "--wait"); res.Code != 0 {
		t.Fatalf("run --wait under the quota: exit %d: %s", res.Code, res.Stderr)
	}
	if runs := listRuns(t, ns, "quota"); len(runs) != 1 || runs[0].Phase != "Succeeded" {
		t.Errorf("runs under the quota: %+v", runs)
	}
	if used := cluster.Kubectl(t, "get", "resourcequota", "shipjob-runs", "-n", ns, "-o", "jsonpath={.status.used}"); !strings.Contains(used, `"count/jobs.batch":"1"`) {
		t.Errorf("quota used %s, want count/jobs.batch 1 (the quota counts the run)", used)
	}
}

// TestSixHundredFailingTriggersKeepTheBound is the proof of review N2: 600
// triggers through a hook of a job that fails at once, with a file of
// about 1 MiB, keep at most its history limit of finished runs (plus the
// active ones) and one files Secret.
func TestSixHundredFailingTriggersKeepTheBound(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	blob := make([]byte, 750<<10) // base64: 1000 KiB of text, what a job's Secret can hold
	_, _ = rand.Read(blob)
	file := t.TempDir() + "/blob"
	if err := os.WriteFile(file, []byte(base64.StdEncoding.EncodeToString(blob)), 0o644); err != nil {
		t.Fatal(err)
	}
	const failedKept = 5
	createSimJob(t, ns, "fast", "--env", "SIM_DURATION=100ms", "--env", "SIM_EXIT_CODE=1", "--file", "/blob="+file,
		"--max-runs-per-minute", "6000", "--failed-runs-history-limit", fmt.Sprint(failedKept), "--succeeded-runs-history-limit", "5")
	_, token := createHook(t, ns, "fast", "ci")
	srv := startHookServer(t, "-n", ns, "--rate-limit", "0", "--log-level", "info")
	const total, workers = 600, 8
	codes := make([]int, total)
	var wg sync.WaitGroup
	began := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < total; i += workers {
				codes[i], _, _ = hookCall(http.MethodPost, srv.URL+"/api/v1/dh", token, "application/json", `{}`)
			}
		}()
	}
	wg.Wait()
	t.Logf("600 triggers in %s", time.Since(began).Round(time.Millisecond))
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	if count[201] != total {
		t.Errorf("answers %v, want %d × 201", count, total)
	}
	// One more trigger prunes to the bound: the runs it found finished are
	// marked, at most failedKept of them kept; the others had not finished.
	trigger(t, ns, "fast")
	got := runsOf(t, ns, "fast")
	t.Logf("runs kept after 601 triggers: %v (\"\": not finished at the last trigger)", got)
	if got["failed"] > failedKept || got["succeeded"] > 0 {
		t.Errorf("runs kept: %v, want at most %d failed and the active ones", got, failedKept)
	}
	// One content-addressed files Secret per definition revision (the
	// "files" change of issue 19).
	files := cluster.Kubectl(t, "-n", ns, "get", "secrets", "-l", "shipjob.dev/kind=run-files,shipjob.dev/job=fast", "-o", "name")
	if n := strings.Count(files, "\n"); n != 1 {
		t.Errorf("%d files Secrets of job fast, want 1:\n%s", n, files)
	}
}

// TestRefusedTriggersKeepReleaseRecordsBounded: triggers refused by
// maxActiveRuns (after they took the release: their records stay, failed)
// do not grow the job's Helm history beyond its bound, through the real
// binary and API server.
func TestRefusedTriggersKeepReleaseRecordsBounded(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "busy", "--env", "SIM_DURATION=10m", "--max-active-runs", "1")
	trigger(t, ns, "busy")
	const refusals = 12
	for i := range refusals {
		res := shipjob(t, "run", "busy", "-n", ns)
		if res.Code == 0 || !strings.Contains(res.Stderr, "limit (maxActiveRuns)") {
			t.Fatalf("trigger %d while a run is active: exit %d %q, want refused", i+2, res.Code, res.Stderr)
		}
	}
	records := cluster.Kubectl(t, "-n", ns, "get", "secrets", "-l", "owner=helm,name=busy", "-o", "name")
	// MaxHistory (3) + pruneSlack (5), of plugin/helmrun.
	if n := len(strings.Fields(records)); n > 8 {
		t.Errorf("after %d refused triggers the release has %d records, want at most 8:\n%s", refusals, n, records)
	}
	if got := runsOf(t, ns, "busy"); got[""] != 1 || len(got) != 1 {
		t.Errorf("runs: %v, want the one active run", got)
	}
}
