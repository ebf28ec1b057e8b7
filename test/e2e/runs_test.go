package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"sigs.k8s.io/yaml"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

func TestRunLifecycleKeepsEarlierRuns(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	cfgFile := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgFile, []byte("answer: 42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	createSimJob(t, ns, "migrate", "--env", "SIM_DURATION=1s", "--param", "TARGET=latest",
		"--file", "/etc/app/config.yaml="+cfgFile, "--retention", "1h")
	var names []string
	for _, target := range []string{"v1", "v2", ""} {
		var args []string
		if target != "" {
			args = []string{"--param", "TARGET=" + target}
		}
		names = append(names, trigger(t, ns, "migrate", args...))
	}
	eventually(t, time.Minute, "three succeeded runs", func() bool {
		runs := listRuns(t, ns, "migrate")
		done := 0
		for _, r := range runs {
			if r.Phase == "Succeeded" {
				done++
			}
		}
		return len(runs) == 3 && done == 3
	})
	runs := listRuns(t, ns, "migrate") // newest first
	wantTargets := []string{"latest", "v2", "v1"}
	for i, r := range runs {
		if r.Name != names[2-i] {
			t.Errorf("run %d = %s, want %s (newest first)", i, r.Name, names[2-i])
		}
		if r.Parameters["TARGET"] != wantTargets[i] || r.Trigger != "user:"+cluster.AdminUser || r.Image != "example.com/acme/sim:1" {
			t.Errorf("run %s provenance: %+v", r.Name, r)
		}
		if !strings.HasPrefix(r.Message, "Completed in ") {
			t.Errorf("run %s message %q", r.Name, r.Message)
		}
	}
	for _, n := range names {
		job := getJob(t, ns, n)
		if job.Annotations["helm.sh/resource-policy"] != "keep" || job.Spec.TTLSecondsAfterFinished == nil || *job.Spec.TTLSecondsAfterFinished != 3600 {
			t.Errorf("run %s: keep=%q ttl=%v", n, job.Annotations["helm.sh/resource-policy"], job.Spec.TTLSecondsAfterFinished)
		}
		if job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != 0 || job.Spec.Template.Spec.RestartPolicy != "Never" ||
			job.Spec.ActiveDeadlineSeconds == nil || *job.Spec.ActiveDeadlineSeconds != 900 {
			t.Errorf("run %s spec: %+v", n, job.Spec)
		}
		c := job.Spec.Template.Spec.Containers[0]
		if q := c.Resources.Limits.Memory().String(); q != "128Mi" || c.Resources.Requests.Cpu().String() != "100m" {
			t.Errorf("run %s resources: %+v", n, c.Resources)
		}
		// One files Secret for the three runs, owned by each.
		files := cluster.Kubectl(t, "-n", ns, "get", "secret", filesSecretOf(t, ns, n), "-o", "jsonpath={.data.file-0} {.metadata.ownerReferences[*].uid}")
		if data, owners, _ := strings.Cut(files, " "); data != "YW5zd2VyOiA0Mgo=" || len(strings.Fields(owners)) != len(names) || !strings.Contains(owners, string(job.UID)) {
			t.Errorf("files secret of %s = %q, want the file owned by the %d runs", n, files, len(names))
		}
	}
	if shared := cluster.Kubectl(t, "-n", ns, "get", "secrets", "-l", "shipjob.dev/kind=run-files", "-o", "name"); len(strings.Fields(shared)) != 1 {
		t.Errorf("files Secrets of 3 runs: %q, want one", shared)
	}
	releases := cluster.Kubectl(t, "-n", ns, "get", "secrets", "-l", "owner=helm,name=migrate", "-o", "name")
	if n := len(strings.Fields(releases)); n < 1 || n > 3 {
		t.Errorf("helm keeps %d release secrets, want 1..3", n)
	}
	table := mustShipjob(t, "runs", "migrate", "-n", ns)
	if !strings.HasPrefix(table, "RUN ") || strings.Count(table, "Succeeded") != 3 {
		t.Errorf("runs table:\n%s", table)
	}
	// --limit prints the newest runs and says on stderr what it left out.
	res := sj(t, ns, "", nil, "runs", "migrate", "--limit", "2")
	if res.Code != 0 || !strings.Contains(res.Stdout, names[2]) || !strings.Contains(res.Stdout, names[1]) ||
		strings.Contains(res.Stdout, names[0]) || !strings.Contains(res.Stderr, "1 older runs not shown: --limit 3") {
		t.Errorf("runs --limit 2: exit %d\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	if res := sj(t, ns, "", nil, "runs", "migrate", "--limit", "-1"); res.Code == 0 || !strings.Contains(res.Stderr, "invalid --limit -1") {
		t.Errorf("runs --limit -1: exit %d, stderr %q", res.Code, res.Stderr)
	}
	if out := must(t, ns, "runs", "migrate", "-o", "name", "--limit", "1"); strings.TrimSpace(out) != "run.shipjob.dev/"+names[2] {
		t.Errorf("runs -o name --limit 1: %q", out)
	}
}

func TestRunWaitExitCodes(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		create  []string
		run     []string
		code    int
		message string
	}{
		"success":         {create: []string{"--env", "SIM_DURATION=1s"}, code: 0, message: "Completed in"},
		"exit code":       {create: []string{"--param", "SIM_EXIT_CODE=0"}, run: []string{"--param", "SIM_EXIT_CODE=3"}, code: 3, message: "Exit code 3"},
		"timeout":         {create: []string{"--env", "SIM_DURATION=60s", "--timeout", "2s"}, code: 124, message: "Did not finish within 2s"},
		"image pull":      {create: []string{"--env", "SIM_IMAGE_PULL=fail"}, run: []string{"--pull-timeout", "2s"}, code: 125, message: "Pulling image example.com/acme/sim:1 failed"},
		"out of memory":   {create: []string{"--env", "SIM_EXIT_CODE=137", "--env", "SIM_EXIT_REASON=OOMKilled"}, code: 137, message: "OOMKilled"},
		"tag of this run": {create: []string{"--env", "SIM_IMAGE_PULL=fail"}, run: []string{"--tag", "2.0", "--pull-timeout", "1s"}, code: 125, message: "example.com/acme/sim:2.0"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ns := cluster.Namespace(t, false)
			createSimJob(t, ns, "j", tc.create...)
			res := shipjob(t, append([]string{"run", "j", "-n", ns, "--wait"}, tc.run...)...)
			if res.Code != tc.code || !strings.Contains(res.Stderr, tc.message) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", res.Code, tc.code, res.Stderr, tc.message)
			}
		})
	}
}

func TestCancelRunningRun(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "long", "--env", "SIM_DURATION=120s", "--retention", "1h")
	var wg sync.WaitGroup
	var waited cluster.Result
	wg.Add(1)
	go func() {
		defer wg.Done()
		waited = shipjob(t, "run", "long", "-n", ns, "--wait")
	}()
	eventually(t, 30*time.Second, "the run to be running", func() bool {
		runs := listRuns(t, ns, "long")
		return len(runs) == 1 && runs[0].Phase == "Running" && strings.HasPrefix(runs[0].Message, "Running for")
	})
	out := mustShipjob(t, "cancel", "long", "-n", ns)
	if !strings.Contains(out, "cancelled") {
		t.Fatalf("cancel output %q", out)
	}
	wg.Wait()
	if waited.Code != 130 || !strings.Contains(waited.Stderr, "Cancelled by user:"+cluster.AdminUser) {
		t.Fatalf("run --wait of a cancelled run: exit %d, stderr %q", waited.Code, waited.Stderr)
	}
	runs := listRuns(t, ns, "long")
	if runs[0].Phase != "Cancelled" {
		t.Fatalf("run after cancel: %+v", runs[0])
	}
	job := getJob(t, ns, runs[0].Name)
	if job.Spec.TTLSecondsAfterFinished == nil || *job.Spec.TTLSecondsAfterFinished != 3600 {
		t.Fatalf("cancelled run lost its retention: %v", job.Spec.TTLSecondsAfterFinished)
	}
	res := shipjob(t, "cancel", runs[0].Name, "-n", ns)
	if res.Code != 1 || !strings.Contains(res.Stderr, "already finished") {
		t.Fatalf("cancel of a finished run: exit %d %q", res.Code, res.Stderr)
	}
}

func TestRunBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "p", "--required-param", "REQ", "--param", "OPT=x")
	before := objectVersions(t, ns)
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"run", "p", "--param", "NOPE=1", "--param", "REQ=1"}, `error: unknown parameter "NOPE" for job p; allowed: OPT, REQ`},
		{[]string{"run", "p"}, `error: missing required parameter "REQ" for job p (give --param REQ=VALUE)`},
		{[]string{"run", "p", "--param", "REQ"}, `error: invalid --param "REQ": want NAME=VALUE`},
		{[]string{"run", "p", "--param", "REQ=1", "--param", "REQ=2"}, `error: parameter "REQ" is given twice`},
		{[]string{"run", "p", "--param", "REQ=1", "--tag", "-bad"}, `error: invalid image tag "-bad"`},
		{[]string{"run", "p", "--param", "REQ=1", "--idempotency-key", "a b"}, `error: invalid idempotency key "a b": use 1 to 64 letters, digits`},
		{[]string{"run", "p", "--param", "REQ=1", "--idempotency-key", strings.Repeat("k", 65)}, `error: invalid idempotency key "kkkk`},
		{[]string{"run", "p", "--param", "REQ=", "--idempotency-key", "k1"}, `error: required parameter "REQ" for job p needs a value`},
		{[]string{"run", "missing"}, `Error from server (NotFound): jobs.shipjob.dev "missing" not found`},
		{[]string{"run", "p", "--param", "REQ=1", "--dry-run=bogus"}, `error: invalid --dry-run "bogus"`},
		{[]string{"run", "p", "--param", "REQ=1", "--wait", "--dry-run=client"}, `error: --wait and --follow cannot be used with --dry-run`},
		{[]string{"run", "p", "--param", "REQ=1", "-o", "table"}, `error: --output must be name, yaml or json, got "table"`},
		{[]string{"run"}, `accepts 1 arg(s), received 0`},
		{[]string{"logs", "nothing-here"}, `Error from server (NotFound): runs.shipjob.dev "nothing-here" not found`},
		{[]string{"cancel", "nothing-here"}, `Error from server (NotFound): runs.shipjob.dev "nothing-here" not found`},
		{[]string{"runs", "Bad_Name"}, `error: invalid job name "Bad_Name"`},
	}
	for _, tc := range cases {
		res := shipjob(t, append(tc.args, "-n", ns)...)
		if res.Code != 1 || !strings.Contains(res.Stderr, tc.msg) || strings.Count(strings.TrimSpace(res.Stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and one line containing %q", tc.args, res.Code, res.Stderr, tc.msg)
		}
	}
	if after := objectVersions(t, ns); after != before {
		t.Fatalf("bad input changed the namespace:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestRunUsesDefinitionAsOfTrigger(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	f := filepath.Join(t.TempDir(), "motd")
	os.WriteFile(f, []byte("one"), 0o644)
	createSimJob(t, ns, "snap", "--env", "SIM_DURATION=30s", "--env", "COLOR=blue", "--file", "/etc/motd="+f)
	run := trigger(t, ns, "snap")
	os.WriteFile(f, []byte("two"), 0o644)
	mustShipjob(t, "set", "snap", "-n", ns, "--env", "COLOR=red", "--file", "/etc/motd="+f)
	job := getJob(t, ns, run)
	for _, e := range job.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "COLOR" && e.Value != "blue" {
			t.Fatalf("run sees COLOR=%s after the job was edited; want blue", e.Value)
		}
	}
	if got := cluster.Kubectl(t, "-n", ns, "get", "secret", filesSecretOf(t, ns, run), "-o", "jsonpath={.data.file-0}"); got != "b25l" { // "one"
		t.Fatalf("run's file changed with the job: %q", got)
	}
	next := trigger(t, ns, "snap")
	if got := cluster.Kubectl(t, "-n", ns, "get", "secret", filesSecretOf(t, ns, next), "-o", "jsonpath={.data.file-0}"); got != "dHdv" { // "two"
		t.Fatalf("new run's file = %q, want the edited content", got)
	}
}

func TestRetentionRemovesRunPodsAndFiles(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	f := filepath.Join(t.TempDir(), "x")
	os.WriteFile(f, []byte("x"), 0o644)
	createSimJob(t, ns, "short", "--retention", "3s", "--file", "/x="+f)
	run := trigger(t, ns, "short", "--wait")
	files := filesSecretOf(t, ns, run)
	cs, _ := cluster.Shared.Client()
	ctx := context.Background()
	eventually(t, time.Minute, "TTL controller and garbage collector to remove the run", func() bool {
		_, jobErr := cs.BatchV1().Jobs(ns).Get(ctx, run, metav1.GetOptions{})
		_, secErr := cs.CoreV1().Secrets(ns).Get(ctx, files, metav1.GetOptions{})
		pods, _ := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "shipjob.dev/run=" + run})
		return apierrors.IsNotFound(jobErr) && apierrors.IsNotFound(secErr) && pods != nil && len(pods.Items) == 0
	})
}

func TestConcurrentTriggersFromManyProcesses(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "busy")
	const n = 20
	results := make([]cluster.Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = shipjob(t, "run", "busy", "-n", ns)
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, r := range results {
		if r.Code != 0 {
			t.Fatalf("concurrent trigger failed: exit %d: %s", r.Code, r.Stderr)
		}
		seen[runName(t, r.Stdout)] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct runs, want %d", len(seen), n)
	}
	if runs := listRuns(t, ns, "busy"); len(runs) != n {
		t.Fatalf("runs lists %d, want %d", len(runs), n)
	}
}

func TestLogsFollowEndsWithTheRun(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "talk", "--env", "SIM_DURATION=3s")
	trigger(t, ns, "talk")
	start := time.Now()
	out := mustShipjob(t, "logs", "talk", "-n", ns, "-f")
	if want := strings.Join(cluster.SimulatedLogLines, "\n") + "\n"; out != want {
		t.Fatalf("logs -f = %q, want %q", out, want)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("logs -f took %s after a 3s run", d)
	}
	if out := mustShipjob(t, "logs", "talk", "-n", ns); !strings.Contains(out, cluster.SimulatedLogLines[1]) {
		t.Fatalf("logs = %q", out)
	}
	follow := mustShipjob(t, "run", "talk", "-n", ns, "--follow")
	if !strings.Contains(follow, cluster.SimulatedLogLines[0]) || !strings.HasPrefix(follow, "run.shipjob.dev/talk-") {
		t.Fatalf("run --follow printed %q", follow)
	}
}

func TestRunDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "dry", "--retention", "2h", "--param", "P=1")
	before := objectVersions(t, ns)
	out := mustShipjob(t, "run", "dry", "-n", ns, "--dry-run=client", "-o", "yaml", "--param", "P=2")
	var job batchv1.Job
	if err := yaml.Unmarshal([]byte(strings.SplitN(strings.TrimPrefix(out, "---\n"), "\n---", 2)[0]), &job); err != nil {
		t.Fatalf("dry run output is not a Job: %v\n%s", err, out)
	}
	env := job.Spec.Template.Spec.Containers[0].Env
	if job.Kind != "Job" || job.Annotations["helm.sh/resource-policy"] != "keep" || job.Spec.TTLSecondsAfterFinished == nil ||
		*job.Spec.TTLSecondsAfterFinished != 7200 || len(env) != 1 || env[0].Value != "2" || job.Annotations["shipjob.dev/triggered-by"] == "" {
		t.Errorf("dry run Job: %+v", job)
	}
	if out := mustShipjob(t, "run", "dry", "-n", ns, "--dry-run=server"); !strings.Contains(out, "created (server dry run)") {
		t.Errorf("server dry run: %q", out)
	}
	if after := objectVersions(t, ns); after != before {
		t.Fatalf("dry run changed the namespace:\n%s\n%s", before, after)
	}
}

func TestLimitedUserTriggersAndReadsRuns(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, true)
	as := []string{"--context", cluster.LimitedContext, "-n", ns}
	mustShipjob(t, append([]string{"create", "mine", "--image", "example.com/sim:1"}, as...)...)
	run := runName(t, mustShipjob(t, append([]string{"run", "mine", "--wait"}, as...)...))
	if out := mustShipjob(t, append([]string{"runs", "mine"}, as...)...); !strings.Contains(out, run) || !strings.Contains(out, "user:"+cluster.LimitedUser) {
		t.Fatalf("runs as limited user:\n%s", out)
	}
	mustShipjob(t, append([]string{"logs", run}, as...)...)
	other := cluster.Namespace(t, false)
	createSimJob(t, other, "theirs")
	res := shipjob(t, "run", "theirs", "--context", cluster.LimitedContext, "-n", other)
	if res.Code != 1 || !strings.Contains(res.Stderr, "Forbidden") {
		t.Fatalf("limited user in another namespace: exit %d %q", res.Code, res.Stderr)
	}
}

func TestDeleteSingleRunAndWatchRuns(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	f := filepath.Join(t.TempDir(), "f")
	os.WriteFile(f, []byte("x"), 0o644)
	createSimJob(t, ns, "w", "--env", "SIM_DURATION=2s", "--file", "/f="+f)

	// runs --watch prints the header, then a line per change, until stopped
	// (here: once it has shown what the test waits for, or after a minute:
	// on a busy machine scheduling alone can take seconds).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var watchOut, watchErr lockedBuffer
	watch := exec.CommandContext(ctx, "kubectl", "shipjob", "runs", "w", "-n", ns, "--watch")
	watch.Stdout, watch.Stderr = &watchOut, &watchErr
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "runs --watch to start watching", func() bool {
		return strings.Contains(watchErr.String(), "Waiting for runs")
	})
	first := trigger(t, ns, "w", "--wait")
	second := trigger(t, ns, "w")
	wants := []string{"RUN", first + " ", "Running", "Succeeded", second}
	seen := func() bool {
		out := watchOut.String()
		for _, want := range wants {
			if !strings.Contains(out, want) {
				return false
			}
		}
		return true
	}
	for !seen() && ctx.Err() == nil { // a wait on the condition, bounded by the watch's context
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	watch.Wait()
	if !seen() {
		t.Errorf("runs --watch output within a minute lacks one of %q:\n%s", wants, watchOut.String())
	}

	firstUID, files := getJob(t, ns, first).UID, filesSecretOf(t, ns, first)
	res := shipjob(t, "delete", "run/"+first, "-n", ns)
	if res.Code != 0 || strings.TrimSpace(res.Stdout) != "run.shipjob.dev/"+first+" deleted" {
		t.Fatalf("delete run: exit %d %q %q", res.Code, res.Stdout, res.Stderr)
	}
	cs, _ := cluster.Shared.Client()
	// The files are shared with the second run: they stay, owned by it.
	eventually(t, 30*time.Second, "the garbage collector to drop the deleted run from the files' owners", func() bool {
		s, err := cs.CoreV1().Secrets(ns).Get(context.Background(), files, metav1.GetOptions{})
		return err == nil && len(s.OwnerReferences) == 1 && s.OwnerReferences[0].UID != firstUID && s.OwnerReferences[0].Name == second
	})
	runs := listRuns(t, ns, "w")
	if len(runs) != 1 || runs[0].Name != second {
		t.Fatalf("runs after deleting %s: %+v", first, runs)
	}
	res = shipjob(t, "delete", "run/"+first, "-n", ns)
	if res.Code != 1 || !strings.Contains(res.Stderr, `runs.shipjob.dev "`+first+`" not found`) {
		t.Fatalf("deleting a deleted run: exit %d %q", res.Code, res.Stderr)
	}
}
