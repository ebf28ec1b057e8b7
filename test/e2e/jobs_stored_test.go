package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// TestHandEditedDefinitionIsRefused (security review H1, L6): a job
// Secret edited by hand is input like any other. The review's
// reproduction — a newline in serviceAccountName — gave a run's pod
// hostPID and hostNetwork; now `run` and the hook server refuse it in one
// line naming the field, write nothing (no release record, Job or files
// Secret), and `list` still lists the job, marked Invalid.
func TestHandEditedDefinitionIsRefused(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must(t, ns, "create", "edited", "--image", "example.com/acme/sim", "--tag", "1",
		"--param", "TARGET=latest", "--file", "/etc/app.conf="+writeTemp(t, "x=1"))
	secret, err := cs.CoreV1().Secrets(ns).Get(ctx, "shipjob-job-edited", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	original := string(secret.Data["job.json"])
	_, token := createHook(t, ns, "edited", "ci")
	srv := startHookServer(t, "-n", ns)

	cases := []struct{ name, old, new, want string }{
		{"service account injection", `"retries":0`, `"retries":0,"serviceAccountName":"default\n      hostPID: true\n      hostNetwork: true"`,
			`spec.serviceAccountName: invalid service account "default\n`},
		{"pull secret injection", `"retries":0`, `"retries":0,"imagePullSecrets":["p\n      hostIPC: true"]`, "spec.imagePullSecrets[0]: invalid image pull secret"},
		{"env secret injection", `"retries":0`, `"retries":0,"envFromSecrets":["x\n          securityContext:\n            privileged: true"]`, "spec.envFromSecrets[0]: invalid env secret"},
		{"field the plugin does not know", `"retries":0`, `"retries":0,"hostPID":true`, `job.json: cannot decode the definition in secret shipjob-job-edited: unknown field "spec.hostPID"`},
		{"field in the wrong case", `"retries":0`, `"RETRIES":0`, `unknown field "spec.RETRIES"`},
		{"quantity that does not parse", `"memory":"128Mi"`, `"memory":"lots"`, `spec.resources.memory: invalid memory "lots"`},
		{"nested file paths", `"content":"x=1"}`, `"content":"x=1"},{"path":"/etc/app.conf/x","content":"y"}`, `spec.files[1].path: file path "/etc/app.conf/x" is inside "/etc/app.conf"`},
		{"parameters over the annotation limit", `"default":"latest"`, `"default":"` + strings.Repeat("x", 300<<10) + `"`, "spec.parameters: parameters take 300 KiB in each run's annotations; the API server allows 256 KiB"},
		{"tag override without a pin", `"retries":0`, `"retries":0,"allowTagOverride":true`, "spec.allowTagOverride: allowTagOverride is only for a job pinned to a digest"},
	}
	for _, tc := range cases {
		edited := strings.Replace(original, tc.old, tc.new, 1)
		if edited == original {
			t.Fatalf("%s: the edit does not apply to %s", tc.name, original)
		}
		secret, err := cs.CoreV1().Secrets(ns).Get(ctx, "shipjob-job-edited", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		secret.Data["job.json"] = []byte(edited)
		if _, err := cs.CoreV1().Secrets(ns).Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("%s: edit the Secret by hand: %v", tc.name, err)
		}
		before := snapshot(t, ns)
		res := sj(t, ns, "", nil, "run", "edited")
		wantLine := fmt.Sprintf("error: job edited in namespace %s is invalid: ", ns)
		switch {
		case res.Code != 1:
			t.Errorf("%s: run exit %d, want 1 (stdout %q, stderr %q)", tc.name, res.Code, res.Stdout, tail(res.Stderr, 300))
		case !strings.HasPrefix(res.Stderr, wantLine) || !strings.Contains(res.Stderr, tc.want) ||
			!strings.HasSuffix(res.Stderr, "; fix it with 'kubectl shipjob edit edited'\n"):
			t.Errorf("%s: stderr %q, want %q…%q…fix it with 'kubectl shipjob edit edited'", tc.name, tail(res.Stderr, 400), wantLine, tc.want)
		case strings.Count(res.Stderr, "\n") != 1 || res.Stdout != "":
			t.Errorf("%s: want one line on stderr and nothing on stdout, got %q / %q", tc.name, res.Stdout, tail(res.Stderr, 300))
		}
		code, body, err := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", token, "application/json", "{}")
		if err != nil || code < 400 || strings.Contains(body, `"run"`) {
			t.Errorf("%s: hook trigger answered %d %s (%v), want an error and no run", tc.name, code, body, err)
		}
		if after := snapshot(t, ns); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("%s: the namespace changed:\nbefore %v\nafter  %v", tc.name, before, after)
		}
		list := sj(t, ns, "", nil, "list")
		if list.Code != 0 || !strings.Contains(list.Stdout, "Invalid") || strings.Count(list.Stdout, "\n") != 2 {
			t.Errorf("%s: list exit %d, stdout %q: want the job listed as Invalid on one row", tc.name, list.Code, list.Stdout)
		}
	}
	if len(cases) < 8 {
		t.Fatalf("only %d cases", len(cases))
	}
	// Fixed again, it runs.
	secret, err = cs.CoreV1().Secrets(ns).Get(ctx, "shipjob-job-edited", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret.Data["job.json"] = []byte(original)
	if _, err := cs.CoreV1().Secrets(ns).Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	run := runName(t, must(t, ns, "run", "edited"))
	if job := getJob(t, ns, run); job.Spec.Template.Spec.HostPID || job.Spec.Template.Spec.ServiceAccountName != "" {
		t.Errorf("run %s: hostPID %v, service account %q", run, job.Spec.Template.Spec.HostPID, job.Spec.Template.Spec.ServiceAccountName)
	}
}
