package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// addRun creates a Job labelled as a run of job, with a files Secret, and
// waits until it completed (so its resourceVersion stays put).
func addRun(t *testing.T, ns, job, name string) {
	t.Helper()
	labels := map[string]string{"shipjob.dev/kind": "run", "shipjob.dev/job": job, "shipjob.dev/run": name}
	applyJob(t, ns, simJob(name, nil, func(j *batchv1.Job) { j.Labels, j.Spec.Template.Labels = labels, labels }))
	cs, _ := cluster.Shared.Client()
	files := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-files", Labels: map[string]string{"shipjob.dev/kind": "run-files", "shipjob.dev/job": job}}}
	if _, err := cs.CoreV1().Secrets(ns).Create(context.Background(), files, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, ns, name, time.Minute, func(j *batchv1.Job, err error) bool { return err == nil && jobCondition(j, batchv1.JobComplete) != nil })
}

func expect(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, got)
		}
	}
}

func TestJobsCommandsAndFormats(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cfg.yaml")
	if err := os.WriteFile(cfg, []byte("# comment\nlevel: debug\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := must(t, ns, "create", "migrate", "--image", "ghcr.io/acme/migrate:1.4", "--env", "A=1", "--param", "P=x",
		"--required-param", "R", "--file", "/etc/app/cfg.yaml="+cfg, "-l", "team=data", "--description", "DB migrations", "--", "./migrate", "up")
	expect(t, "create", out, "job.shipjob.dev/migrate created\n")
	must(t, ns, "create", "other", "--image", "busybox", "--timeout", "none")
	addRun(t, ns, "migrate", "migrate-old")
	addRun(t, ns, "migrate", "migrate-new")

	for args, want := range map[string][]string{
		"list":                      {"NAME      IMAGE                      LAST RUN   STATUS", "other     busybox:latest             <none>     <none>"},
		"ls -o wide":                {"DESCRIPTION     PARAMS             TIMEOUT   RETENTION", "DB migrations   P=x,R=<required>   15m       336h"},
		"list -A":                   {"NAMESPACE ", ns + " "},
		"list -o name":              {"job.shipjob.dev/migrate\njob.shipjob.dev/other\n"},
		"list -l team=data -o name": {"job.shipjob.dev/migrate\n"},
		"list -o json":              {`"kind": "JobList"`, `"lastRun": "migrate-`},
		"list -o yaml":              {"kind: JobList", "- apiVersion: shipjob.dev/v1alpha1"},
		"list -o jsonpath={.items[*].spec.image}":                 {"ghcr.io/acme/migrate busybox"},
		"list -o custom-columns=N:.metadata.name,T:.spec.timeout": {"N         T\nmigrate   15m\nother     none\n"},
		"get migrate":                             {"NAME      IMAGE", "migrate   ghcr.io/acme/migrate:1.4"},
		"get migrate -o yaml":                     {"kind: Job\n", "  - content: |\n      # comment\n      level: debug\n    path: /etc/app/cfg.yaml", "    required: true", "status:\n  lastRun: migrate-"},
		"get migrate other -o name":               {"job.shipjob.dev/migrate\njob.shipjob.dev/other\n"},
		"get migrate -o jsonpath={.spec.command}": {`["./migrate","up"]`},
		"get other -o json":                       {`"kind": "Job"`, `"timeout": "none"`},
	} {
		expect(t, args, must(t, ns, strings.Fields(args)...), want...)
	}
	expect(t, "go-template", must(t, ns, "list", "-o", "go-template={{range .items}}{{.metadata.name}};{{end}}"), "migrate;other;")
	if last := must(t, ns, "list", "--no-headers"); strings.Contains(last, "migrate   ghcr.io/acme/migrate:1.4   <none>") {
		t.Errorf("LAST RUN not shown: %s", last)
	}

	// get -o yaml | apply -f - writes nothing; a change is configured.
	before := snapshot(t, ns)
	doc := must(t, ns, "get", "migrate", "-o", "yaml")
	res := sj(t, ns, doc, nil, "apply", "-f", "-")
	expect(t, "round trip", res.Stdout+res.Stderr, "job.shipjob.dev/migrate unchanged\n")
	res = sj(t, ns, must(t, ns, "get", "migrate", "other", "-o", "json"), nil, "apply", "-f", "-")
	expect(t, "json round trip", res.Stdout, "migrate unchanged\n", "other unchanged\n")
	if after := snapshot(t, ns); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("round trip wrote:\nbefore %v\nafter  %v", before, after)
	}
	res = sj(t, ns, strings.Replace(doc, "timeout: 15m", "timeout: 20m", 1), nil, "apply", "-f", "-")
	expect(t, "apply change", res.Stdout, "job.shipjob.dev/migrate configured\n")
	third := strings.NewReplacer("name: other", "name: third", "timeout: none", "timeout: 1h").Replace(must(t, ns, "get", "other", "-o", "yaml"))
	defs := t.TempDir()
	if err := os.WriteFile(filepath.Join(defs, "jobs.yaml"), []byte(third+"---\n"+doc), 0o644); err != nil {
		t.Fatal(err)
	}
	expect(t, "apply dir", must(t, ns, "apply", "-f", defs), "job.shipjob.dev/third created\n", "job.shipjob.dev/migrate configured\n")

	// set changes single fields; an unchanged set writes nothing.
	expect(t, "set", must(t, ns, "set", "migrate", "--tag", "1.5", "--env", "B=2", "--unset-param", "P", "--memory", "1Gi"), "job.shipjob.dev/migrate updated\n")
	expect(t, "after set", must(t, ns, "get", "migrate", "-o", "jsonpath={.spec.tag} {.spec.env[*].name} {.spec.parameters[*].name} {.spec.resources.memory}"), "1.5 A B R 1Gi")
	expect(t, "set again", must(t, ns, "set", "migrate", "--tag", "1.5"), "job.shipjob.dev/migrate unchanged\n")

	// registries
	res = sj(t, ns, "s3cret\n", nil, "registry", "add", "acme", "--server", "ghcr.io/acme", "--username", "bot", "--password-stdin")
	expect(t, "registry add", res.Stdout, "registry.shipjob.dev/acme created\n")
	res = sj(t, ns, "", nil, "registry", "add", "acme2", "--server", "quay.io", "--username", "bot", "--password", "p")
	expect(t, "insecure password", res.Stderr, "Warning: --password is insecure")
	pull := cluster.Kubectl(t, "-n", ns, "get", "secret", "shipjob-registry-acme", "-o", "jsonpath={.type} {.data.\\.dockerconfigjson}")
	expect(t, "pull secret", pull, "kubernetes.io/dockerconfigjson ")
	expect(t, "registry list", must(t, ns, "registry", "list"), "acme    ghcr.io/acme   bot        shipjob-registry-acme")
	expect(t, "registry list -o json", must(t, ns, "registry", "ls", "-o", "json"), `"server": "quay.io"`)
	must(t, ns, "create", "rep", "--registry", "acme", "--image", "reports", "--tag", "2")
	expect(t, "registry image", must(t, ns, "get", "rep"), "reports:2 (acme)")
	res = sj(t, ns, "", nil, "registry", "delete", "acme")
	expect(t, "registry delete", res.Stdout+res.Stderr, "registry.shipjob.dev/acme deleted\n", "Warning: job rep uses registry acme")

	// delete: runs go with the job unless kept.
	addRun(t, ns, "other", "other-1")
	expect(t, "delete", must(t, ns, "delete", "migrate"), "job.shipjob.dev/migrate deleted (2 runs deleted)\n")
	expect(t, "delete kept", must(t, ns, "delete", "other", "--keep-runs"), "job.shipjob.dev/other deleted (runs kept)\n")
	left := cluster.Kubectl(t, "-n", ns, "get", "jobs,secrets", "-l", "shipjob.dev/kind in (run,run-files)", "-o", "name")
	if left != "job.batch/other-1\nsecret/other-1-files\n" {
		t.Errorf("runs left after delete: %q", left)
	}
	expect(t, "list after delete", must(t, ns, "list", "-o", "name"), "job.shipjob.dev/rep\njob.shipjob.dev/third\n")
}

func TestJobsEditWithScriptedEditor(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	must(t, ns, "create", "ed", "--image", "busybox")
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	seen := filepath.Join(dir, "seen")
	timeout := script("timeout.sh", `sed -i 's/timeout: 15m/timeout: 30m/' "$1"`)
	fixing := script("fixing.sh", `if grep -q '^# The job was not saved' "$1"; then grep '^# The job was not saved' "$1" >> `+seen+`; sed -i 's/memory: lots/memory: 256Mi/' "$1"; else sed -i 's/memory: 128Mi/memory: lots/' "$1"; fi`)
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"EDITOR=" + timeout}, "job.shipjob.dev/ed edited\n"},
		{[]string{"EDITOR=true"}, "Edit cancelled, no changes made.\n"},
		{[]string{"KUBE_EDITOR=" + fixing, "EDITOR=false"}, "job.shipjob.dev/ed edited\n"},
	} {
		res := sj(t, ns, "", tc.env, "edit", "ed")
		if res.Code != 0 || res.Stdout != tc.want {
			t.Fatalf("edit with %v: exit %d, stdout %q, stderr %q; want %q", tc.env, res.Code, res.Stdout, res.Stderr, tc.want)
		}
	}
	expect(t, "edited job", must(t, ns, "get", "ed", "-o", "jsonpath={.spec.timeout} {.spec.resources.memory}"), "30m 256Mi")
	shown, _ := os.ReadFile(seen)
	expect(t, "error shown in the editor", string(shown), `# The job was not saved: invalid memory "lots"`)

	before := snapshot(t, ns)
	breaking := script("breaking.sh", `sed -i 's/memory: 256Mi/memory: lots/' "$1"`)
	res := sj(t, ns, "", []string{"EDITOR=" + breaking}, "edit", "ed")
	if res.Code != 1 || !strings.HasPrefix(res.Stderr, "error: edit cancelled, no valid changes were saved: invalid memory") {
		t.Fatalf("invalid twice: exit %d, stderr %q", res.Code, res.Stderr)
	}
	if fmt.Sprint(snapshot(t, ns)) != fmt.Sprint(before) {
		t.Fatal("a cancelled edit wrote")
	}
}

func TestJobsServerDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	must(t, ns, "create", "x", "--image", "busybox")
	addRun(t, ns, "x", "x-1")
	before := snapshot(t, ns)
	doc := strings.Replace(must(t, ns, "get", "x", "-o", "yaml"), "timeout: 15m", "timeout: 1h", 1)
	for _, tc := range []struct{ stdin, want, args string }{
		{"", "job.shipjob.dev/y created (server dry run)\n", "create y --image busybox --dry-run=server"},
		{doc, "job.shipjob.dev/x configured (server dry run)\n", "apply -f - --dry-run=server"},
		{"", "job.shipjob.dev/x updated (server dry run)\n", "set x --tag 2 --dry-run=server"},
		{"", "job.shipjob.dev/x deleted (server dry run) (1 run deleted)\n", "delete x --dry-run=server"},
		{"pw", "registry.shipjob.dev/r created (server dry run)\n", "registry add r --server r.io --username u --password-stdin --dry-run=server"},
		{"", "job.shipjob.dev/z created (dry run)\n", "create z --image busybox --dry-run"},
	} {
		if res := sj(t, ns, tc.stdin, nil, strings.Fields(tc.args)...); res.Code != 0 || res.Stdout != tc.want {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %q", tc.args, res.Code, res.Stdout, res.Stderr, tc.want)
		}
	}
	if after := snapshot(t, ns); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("dry run wrote:\nbefore %v\nafter  %v", before, after)
	}
}

func TestJobsLimitedIdentity(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, true)
	other := cluster.Namespace(t, false)
	as := "--context=" + cluster.LimitedContext
	for _, args := range [][]string{{"create", "lim", "--image", "busybox"}, {"list"}, {"get", "lim", "-o", "yaml"},
		{"set", "lim", "--tag", "2"}, {"delete", "lim"}} {
		must(t, ns, append([]string{as}, args...)...)
	}
	for _, args := range [][]string{{"create", "lim", "--image", "busybox"}, {"list"}, {"list", "-A"}} {
		res := sj(t, other, "", nil, append([]string{as}, args...)...)
		if res.Code != 1 || !strings.HasPrefix(res.Stderr, "Error from server (Forbidden): ") || strings.Count(res.Stderr, "\n") != 1 {
			t.Errorf("limited %v in %s: exit %d, stderr %q; want one Forbidden line", args, other, res.Code, res.Stderr)
		}
	}
}

func TestJobsCompletion(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	must(t, ns, "create", "alpha", "--image", "busybox")
	must(t, ns, "create", "beta", "--image", "busybox")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get", ""}, "alpha\nbeta\n:4\n"},
		{[]string{"delete", "alpha", ""}, "beta\n:4\n"},
		{[]string{"edit", "a"}, "alpha\n:4\n"},
		{[]string{"set", "alpha", ""}, ":4\n"},
	} {
		if got := must(t, ns, append([]string{"__complete"}, tc.args...)...); got != tc.want {
			t.Errorf("__complete %q: got %q, want %q", tc.args, got, tc.want)
		}
	}
	// Through kubectl (>= 1.26), which runs kubectl_complete-shipjob from PATH.
	bin := t.TempDir()
	script, err := os.ReadFile(filepath.Join("..", "..", "cmd", "kubectl_complete-shipjob"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "kubectl_complete-shipjob"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("kubectl", "__complete", "shipjob", "-n", ns, "get", "")
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	got, err := cmd.Output()
	if err != nil || string(got) != "alpha\nbeta\n:4\n" {
		t.Fatalf("kubectl __complete shipjob get: %q, %v", got, err)
	}
}
