package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// dropParam applies job's definition without parameter name.
func dropParam(t *testing.T, ns, job, name string) {
	t.Helper()
	var def map[string]any
	if err := json.Unmarshal([]byte(mustShipjob(t, "get", job, "-n", ns, "-o", "json")), &def); err != nil {
		t.Fatal(err)
	}
	spec := def["spec"].(map[string]any)
	params := spec["parameters"].([]any)
	spec["parameters"] = slices.DeleteFunc(params, func(p any) bool { return p.(map[string]any)["name"] == name })
	delete(def, "status")
	data, _ := json.Marshal(def)
	if res := cluster.Run(t, string(data), "kubectl", "shipjob", "apply", "-f", "-", "-n", ns); res.Code != 0 {
		t.Fatalf("apply: %s", res.Stderr)
	}
}

func TestRerunKeepsParametersAndTag(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "re", "--param", "TARGET=a", "--param", "MODE=x", "--param", "OLD=o", "--param", "TOKEN=none", "--secret-param", "TOKEN")
	first := trigger(t, ns, "re", "--param", "TARGET=b", "--param", "TOKEN=s3cret", "--tag", "2", "--wait")
	dropParam(t, ns, "re", "OLD")

	res := shipjob(t, "rerun", first, "-n", ns, "--wait")
	if res.Code != 0 || !strings.Contains(res.Stderr, "Warning: parameter OLD of run "+first+" is dropped: job re no longer has it") {
		t.Fatalf("rerun: exit %d\nstdout %s\nstderr %s", res.Code, res.Stdout, res.Stderr)
	}
	second := runName(t, res.Stdout)
	job := getJob(t, ns, second)
	ann := job.Annotations
	if ann["shipjob.dev/rerun-of"] != first || ann["shipjob.dev/image"] != "example.com/acme/sim:2" ||
		ann["shipjob.dev/parameters"] != `{"MODE":"x","TARGET":"b","TOKEN":"<secret>"}` {
		t.Fatalf("rerun's provenance: %v", ann)
	}
	secret := cluster.Kubectl(t, "-n", ns, "get", "secret", second+"-params", "-o", "jsonpath={.data.param-TOKEN}")
	if secret != "czNjcmV0" { // "s3cret"
		t.Fatalf("rerun's secret parameter = %q", secret)
	}

	// Overrides apply; a job name reruns its newest run.
	third := runName(t, mustShipjob(t, "rerun", "re", "-n", ns, "--param", "MODE=y", "--tag", "3"))
	ann = getJob(t, ns, third).Annotations
	if ann["shipjob.dev/rerun-of"] != second || ann["shipjob.dev/image"] != "example.com/acme/sim:3" ||
		ann["shipjob.dev/parameters"] != `{"MODE":"y","TARGET":"b","TOKEN":"<secret>"}` {
		t.Fatalf("rerun with overrides: %v", ann)
	}
	var names []string
	for _, r := range listRuns(t, ns, "re") {
		names = append(names, r.Name)
		if want := map[string]string{second: first, third: second}[r.Name]; r.RerunOf != want {
			t.Errorf("runs -o json: %s rerunOf %q, want %q", r.Name, r.RerunOf, want)
		}
	}
	if wide := mustShipjob(t, "runs", "re", "-n", ns, "-o", "wide"); !strings.Contains(wide, "RERUN OF") {
		t.Errorf("runs -o wide has no RERUN OF column:\n%s", wide)
	}
	if !slices.Equal(names, []string{third, second, first}) {
		t.Fatalf("runs %v, want %v", names, []string{third, second, first})
	}
}

func TestDebugFinishedRun(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	motd := filepath.Join(t.TempDir(), "motd")
	if err := os.WriteFile(motd, []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	createSimJob(t, ns, "dbg", "--env", "SIM_DURATION=4s", "--param", "TARGET=a", "--file", "/etc/motd="+motd,
		"--service-account", "default")
	run := trigger(t, ns, "dbg", "--param", "TARGET=b", "--wait")
	cluster.Kubectl(t, "-n", ns, "delete", "pods", "-l", "shipjob.dev/run="+run, "--wait")

	res := shipjob(t, "debug", run, "-n", ns, "--timeout", "10m")
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if res.Code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "pod/"+run+"-debug-") {
		t.Fatalf("debug: exit %d\nstdout %s\nstderr %s", res.Code, res.Stdout, res.Stderr)
	}
	pod := strings.Fields(strings.TrimPrefix(lines[0], "pod/"))[0]
	if want := "kubectl exec -it -n " + ns + " " + pod + " -- sh"; lines[1] != want {
		t.Fatalf("exec line %q, want %q", lines[1], want)
	}
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := cs.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	job := getJob(t, ns, run)
	c := p.Spec.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if p.Labels["shipjob.dev/debug-of"] != run || p.Labels["shipjob.dev/run"] != "" || p.Labels["batch.kubernetes.io/controller-uid"] != "" ||
		len(p.OwnerReferences) != 1 || p.OwnerReferences[0].UID != job.UID || !slices.Equal(c.Command, []string{"sleep", "600"}) ||
		*p.Spec.ActiveDeadlineSeconds != 600 || p.Spec.RestartPolicy != corev1.RestartPolicyNever || env["TARGET"] != "b" ||
		c.Image != "example.com/acme/sim:1" || p.Spec.Volumes[0].Name != "files" || p.Spec.Volumes[0].Secret.SecretName != filesSecretOf(t, ns, run) {
		t.Fatalf("debug pod: labels %v, owners %v, command %q, env %v, image %s, volumes %v", p.Labels, p.OwnerReferences, c.Command, env, c.Image, p.Spec.Volumes)
	}
	// Not a run, not an attempt of the run.
	runs := listRuns(t, ns, "dbg")
	if len(runs) != 1 || runs[0].Name != run || strings.Contains(mustShipjob(t, "runs", "dbg", "-n", ns, "-o", "json"), pod) {
		t.Fatalf("runs lists the debug pod: %+v", runs)
	}
	// It goes with the run.
	mustShipjob(t, "delete-run", run, "-n", ns)
	eventually(t, time.Minute, "the garbage collector to delete the debug pod", func() bool {
		_, err := cs.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

func TestRerunDebugBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "bad", "--param", "OPT=x")
	run := trigger(t, ns, "bad", "--wait")
	mustShipjob(t, "set", "bad", "-n", ns, "--required-param", "NEW")
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	plain := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "plain"}, Spec: batchv1.JobSpec{Suspend: new(true),
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "c", Image: "example.com/acme/sim:1"}}}}}}
	if _, err := cs.BatchV1().Jobs(ns).Create(context.Background(), plain, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The Job controller marks it Suspended once: wait for that write.
	eventually(t, 30*time.Second, "job plain to be marked suspended", func() bool {
		return strings.Contains(cluster.Kubectl(t, "-n", ns, "get", "job", "plain", "-o", "jsonpath={.status.conditions[*].type}"), "Suspended")
	})
	before := objectVersions(t, ns)
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"rerun", "nope"}, `Error from server (NotFound): runs.shipjob.dev "nope" not found`},
		{[]string{"rerun", "plain"}, `Error from server (NotFound): runs.shipjob.dev "plain" not found`},
		{[]string{"rerun", run}, `error: missing required parameter "NEW" for job bad (give --param NEW=VALUE)`},
		{[]string{"rerun", run, "--param", "NEW=1", "--param", "NOPE=1"}, `error: unknown parameter "NOPE" for job bad; allowed: NEW, OPT`},
		{[]string{"rerun", run, "--param", "NEW"}, `error: invalid --param "NEW": want NAME=VALUE`},
		{[]string{"rerun", run, "--param", "NEW=1", "--tag", "-bad"}, `error: invalid image tag "-bad"`},
		{[]string{"rerun", run, "--param", "NEW=1", "--wait", "--dry-run=client"}, `error: --wait and --follow cannot be used with --dry-run`},
		{[]string{"rerun", run, "--param", "NEW=1", "--idempotency-key", "a b"}, `error: invalid idempotency key "a b"`},
		{[]string{"rerun", run, "-o", "table"}, `error: --output must be name, yaml or json, got "table"`},
		{[]string{"rerun"}, `accepts 1 arg(s), received 0`},
		{[]string{"debug", "nope"}, `Error from server (NotFound): runs.shipjob.dev "nope" not found`},
		{[]string{"debug", "plain"}, `Error from server (NotFound): runs.shipjob.dev "plain" not found`},
		{[]string{"debug", run, "--timeout", "1500ms"}, `error: invalid --timeout 1.5s: use whole seconds, at least 1s`},
		{[]string{"debug", run, "--timeout", "0s"}, `error: invalid --timeout 0s`},
		{[]string{"debug", run, "--timeout", "soon"}, `invalid argument "soon" for "--timeout" flag`},
		{[]string{"debug", run, "--image", "Bad:x"}, `error: invalid --image: invalid image reference "Bad:x"`},
		{[]string{"debug", run, "--pod-running-timeout", "0s"}, `error: --pod-running-timeout must be positive`},
		{[]string{"debug", run, "other"}, `accepts 1 arg(s), received 2`},
		{[]string{"debug", "--", "sh"}, `error: give one RUN before --, got 0`},
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
