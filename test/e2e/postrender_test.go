package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// prHelm is one real Helm CLI set up to use kubectl-shipjob as its
// post-renderer, with its own config, cache, data and plugin folders.
type prHelm struct {
	name string
	bin  string
	env  []string
	// args selects the post-renderer with the given extra arguments.
	args func(extra ...string) []string
	// errFile is where the post-renderer's error can be read: Helm v3
	// prints our stderr, Helm v4 drops it, so the v4 runs pass an error file.
	errFile string
}

// prHelmBin finds a Helm CLI built by `make tools`; a missing one fails t.
func prHelmBin(t *testing.T, env, version string) string {
	t.Helper()
	bin := os.Getenv(env)
	if bin == "" {
		var err error
		if bin, err = filepath.Abs(filepath.Join("..", "..", ".cache", "tools", "helm-"+version, "helm")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm %s not found (%s; run make tools): %v", version, env, err)
	}
	return bin
}

func prHelmSetup(t *testing.T, major int) *prHelm {
	t.Helper()
	dir := t.TempDir()
	h := &prHelm{env: []string{
		"HELM_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"HELM_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"HELM_DATA_HOME=" + filepath.Join(dir, "data"),
		// Helm v4.3.1 installs local plugins into $HELM_DATA_HOME/plugins
		// whatever HELM_PLUGINS says (helm/helm#32646): keep them equal.
		"HELM_PLUGINS=" + filepath.Join(dir, "data", "plugins"),
		"SHIPJOB_POSTRENDER_ERROR_FILE=",
	}}
	switch major {
	case 3:
		h.name, h.bin = "v3", prHelmBin(t, "SHIPJOB_HELM3", "v3.22.0")
		h.args = func(extra ...string) []string {
			args := []string{"--post-renderer", "kubectl-shipjob", "--post-renderer-args=postrender"}
			for _, a := range extra {
				args = append(args, "--post-renderer-args="+a)
			}
			return args
		}
	case 4:
		h.name, h.bin = "v4", prHelmBin(t, "SHIPJOB_HELM4", "v4.3.1")
		h.errFile = filepath.Join(dir, "postrender.err")
		h.args = func(extra ...string) []string {
			args := []string{"--post-renderer", "shipjob-postrender", "--post-renderer-args=--error-file=" + h.errFile}
			for _, a := range extra {
				args = append(args, "--post-renderer-args="+a)
			}
			return args
		}
		// The plugin as users install it: from the source folder (Helm
		// links to it).
		src, err := filepath.Abs(filepath.Join("..", "..", "plugin", "helm-plugin", "shipjob-postrender"))
		if err != nil {
			t.Fatal(err)
		}
		h.must(t, "plugin", "install", src)
		if out := h.must(t, "plugin", "list"); !strings.Contains(out, "shipjob-postrender") || !strings.Contains(out, "postrenderer/v1") {
			t.Fatalf("helm v4 plugin list does not show the post-renderer:\n%s", out)
		}
	}
	return h
}

// run runs helm with args and returns its output and exit code.
func (h *prHelm) run(t *testing.T, args ...string) cluster.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = append(os.Environ(), h.env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	res := cluster.Result{Stdout: out.String(), Stderr: errOut.String()}
	if err != nil {
		exitErr, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("helm %s %v: %v", h.name, args, err)
		}
		res.Code = exitErr.ExitCode()
	}
	return res
}

func (h *prHelm) must(t *testing.T, args ...string) string {
	t.Helper()
	res := h.run(t, args...)
	if res.Code != 0 {
		t.Fatalf("helm %s %s: exit %d\nstdout: %s\nstderr: %s", h.name, strings.Join(args, " "), res.Code, res.Stdout, res.Stderr)
	}
	return res.Stdout
}

// prChart is the test chart: a Job named NAME-REVISION and a ConfigMap.
func prChart(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "postrender-chart"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPostrender drives the post-renderer through the real Helm v3 and v4
// CLIs on the local cluster.
func TestPostrender(t *testing.T) {
	for _, major := range []int{3, 4} {
		t.Run(fmt.Sprint("helm", major), func(t *testing.T) {
			t.Parallel()
			h := prHelmSetup(t, major)
			t.Run("template", func(t *testing.T) { prTemplate(t, h) })
			t.Run("upgrades keep every Job", func(t *testing.T) {
				ns := cluster.Namespace(t, false)
				prUpgradesKeepJobs(t, h, ns)
				t.Run("errors fail helm and delete nothing", func(t *testing.T) { prErrors(t, h, ns) })
			})
			t.Run("TTL controller removes Jobs when due", func(t *testing.T) { prShortTTL(t, h) })
			t.Run("Jobs in a JobList are kept", func(t *testing.T) { prJobList(t, h) })
		})
	}
}

// prTemplate: `helm template` shows keep and the TTL on the Job, with the
// default TTL and with --ttl; the ConfigMap passes unchanged.
func prTemplate(t *testing.T, h *prHelm) {
	for _, tc := range []struct {
		extra    []string
		ttl      int32
		recorded string
	}{
		{nil, 1209600, "336h0m0s"},
		{[]string{"--ttl=1h"}, 3600, "1h0m0s"},
	} {
		out := h.must(t, append([]string{"template", "app", prChart(t)}, h.args(tc.extra...)...)...)
		docs := prDocs(t, out)
		job, ok := docs["Job/migrate-1"]
		if !ok || len(docs) != 2 {
			t.Fatalf("%v: want a Job and a ConfigMap, got %d documents:\n%s", tc.extra, len(docs), out)
		}
		prCheckJob(t, job, tc.ttl, tc.recorded)
		if !strings.Contains(out, "  name: migrate-settings # stays across revisions\n") ||
			!strings.Contains(out, "    # a comment inside a block scalar\n") {
			t.Errorf("ConfigMap changed:\n%s", out)
		}
		if h.name == "v3" && !strings.Contains(out, "---\n# Source: postrender-e2e/templates/job.yaml\n# One Job per revision") {
			t.Errorf("Helm's Source comment lost:\n%s", out)
		}
		if strings.Contains(out, "postrenderer.helm.sh") {
			t.Errorf("Helm v4's internal annotation leaked:\n%s", out)
		}
	}
}

// prUpgradesKeepJobs: install and two upgrades leave migrate-1..3 in place,
// each with keep and its TTL, although each revision renders only one Job.
func prUpgradesKeepJobs(t *testing.T, h *prHelm, ns string) {
	chart := prChart(t)
	h.must(t, append([]string{"install", "app", chart, "-n", ns}, h.args("--ttl=1h")...)...)
	for range 2 {
		h.must(t, append([]string{"upgrade", "app", chart, "-n", ns}, h.args("--ttl=1h")...)...)
	}
	manifest := h.must(t, "get", "manifest", "app", "-n", ns)
	if !strings.Contains(manifest, "name: migrate-3") || strings.Contains(manifest, "name: migrate-1") {
		t.Fatalf("revision 3 should render only migrate-3:\n%s", manifest)
	}
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := cs.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := range jobs.Items {
		j := &jobs.Items[i]
		names = append(names, j.Name)
		if j.Spec.TTLSecondsAfterFinished == nil || *j.Spec.TTLSecondsAfterFinished != 3600 ||
			j.Annotations["helm.sh/resource-policy"] != "keep" || j.Annotations["shipjob.dev/ttl"] != "1h0m0s" {
			t.Errorf("job %s: ttl %v, annotations %v; want 3600, keep, 1h0m0s", j.Name, j.Spec.TTLSecondsAfterFinished, j.Annotations)
		}
		if j.Annotations["meta.helm.sh/release-name"] != "app" {
			t.Errorf("job %s lost Helm's ownership annotations: %v", j.Name, j.Annotations)
		}
	}
	if strings.Join(names, ",") != "migrate-1,migrate-2,migrate-3" {
		t.Fatalf("jobs after install + 2 upgrades: %v, want migrate-1, migrate-2, migrate-3", names)
	}
	if out := cluster.Kubectl(t, "get", "configmap", "migrate-settings", "-n", ns, "-o", "name"); out != "configmap/migrate-settings\n" {
		t.Fatalf("configmap: %q", out)
	}
}

// prErrors: input the post-renderer refuses fails helm with our message
// (v3: on helm's stderr; v4: in the error file) and leaves the release and
// its resources as they were, even when the chart renders nothing, which
// Helm v3 would otherwise apply as "delete everything".
func prErrors(t *testing.T, h *prHelm, ns string) {
	chart := prChart(t)
	cases := []struct {
		name  string
		args  []string
		extra []string
		want  string
	}{
		{"empty chart output", []string{"--set", "empty=true"}, nil,
			"error: postrender: input holds no YAML documents"},
		{"duplicate key in a Job", []string{"--set", "duplicateKey=true"}, nil,
			`mapping key "app.kubernetes.io/instance" already defined at line`},
		{"bad --ttl", nil, []string{"--ttl=soon"},
			`error: --ttl: invalid TTL "soon": want seconds ("3600"), a duration ("90m", "336h") or days ("14d")`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if h.errFile != "" {
				_ = os.Remove(h.errFile)
			}
			args := append(append([]string{"upgrade", "app", chart, "-n", ns}, tc.args...), h.args(tc.extra...)...)
			res := h.run(t, args...)
			if res.Code == 0 {
				t.Fatalf("helm upgrade succeeded; want a failure\n%s", res.Stdout)
			}
			shown := res.Stderr
			if h.errFile != "" {
				if !strings.Contains(res.Stderr, `plugin "shipjob-postrender" exited with error`) {
					t.Errorf("helm v4 stderr: %q", res.Stderr)
				}
				b, err := os.ReadFile(h.errFile)
				if err != nil {
					t.Fatalf("error file: %v", err)
				}
				shown = string(b)
			}
			if !strings.Contains(shown, tc.want) {
				t.Errorf("want %q in our error, got:\n%s", tc.want, shown)
			}
			status := h.must(t, "status", "app", "-n", ns)
			if !strings.Contains(status, "REVISION: 3") || !strings.Contains(status, "STATUS: deployed") {
				t.Errorf("release changed:\n%s", status)
			}
			for _, obj := range []string{"job/migrate-1", "job/migrate-2", "job/migrate-3", "configmap/migrate-settings"} {
				cluster.Kubectl(t, "get", obj, "-n", ns, "-o", "name")
			}
		})
	}
	if h.errFile != "" {
		// A success empties the error file again.
		h.must(t, append([]string{"template", "app", chart}, h.args()...)...)
		if b, err := os.ReadFile(h.errFile); err != nil || len(b) != 0 {
			t.Errorf("error file after success: %q, %v; want empty", b, err)
		}
	}
}

// prShortTTL: with --ttl=3s the real TTL controller deletes each Job about
// 3 s after it finished (simulated Jobs finish after ~1 s).
func prShortTTL(t *testing.T, h *prHelm) {
	ns := cluster.Namespace(t, false)
	chart := prChart(t)
	h.must(t, append([]string{"install", "short", chart, "-n", ns, "--set", "name=short"}, h.args("--ttl=3s")...)...)
	h.must(t, append([]string{"upgrade", "short", chart, "-n", ns, "--set", "name=short"}, h.args("--ttl=3s")...)...)
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		ttl      *int32
		finished time.Time
		gone     time.Time
	}
	jobs := map[string]*seen{"short-1": {}, "short-2": {}}
	eventually(t, 90*time.Second, "the jobs with a 3s TTL to go", func() bool {
		left := 0
		for name, s := range jobs {
			if !s.gone.IsZero() {
				continue
			}
			j, err := cs.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				s.gone = time.Now()
				continue
			case err != nil:
				t.Fatalf("get job %s: %v", name, err)
			}
			left++
			s.ttl = j.Spec.TTLSecondsAfterFinished
			for _, c := range j.Status.Conditions {
				if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == "True" {
					s.finished = c.LastTransitionTime.Time
				}
			}
		}
		return left == 0
	})
	for name, s := range jobs {
		if s.ttl == nil || *s.ttl != 3 {
			t.Errorf("job %s had ttl %v, want 3", name, s.ttl)
		}
		// Condition times have second precision: allow one second.
		if s.finished.IsZero() || s.gone.Sub(s.finished) < 2*time.Second {
			t.Errorf("job %s finished at %v, gone at %v: want it deleted ~3s after it finished", name, s.finished, s.gone)
		}
	}
	// The TTL applies to Jobs only: the release's ConfigMap stays.
	cluster.Kubectl(t, "get", "configmap", "short-settings", "-n", ns, "-o", "name")
}

// prListChart writes a chart whose Job, listed-REVISION, is an item of a
// batch/v1 JobList (rendered unless --set jobs=false), next to a ConfigMap.
func prListChart(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"Chart.yaml":               "apiVersion: v2\nname: postrender-joblist\nversion: 0.1.0\n",
		"values.yaml":              "jobs: true\n",
		"templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: listed-settings\ndata:\n  a: b\n",
		"templates/jobs.yaml": `{{- if .Values.jobs }}
apiVersion: batch/v1
kind: JobList
items:
  - apiVersion: batch/v1
    kind: Job
    metadata:
      name: listed-{{ .Release.Revision }}
    spec:
      backoffLimit: 0
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: main
              image: example.com/acme/sim:1
{{- end }}
`,
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// prJobList: a Job that Helm creates from a batch/v1 JobList gets keep and
// the TTL on the cluster and stays after an upgrade that renders no Jobs
// (security review M3: it was created without them and deleted).
func prJobList(t *testing.T, h *prHelm) {
	ns := cluster.Namespace(t, false)
	chart := prListChart(t)
	h.must(t, append([]string{"install", "listed", chart, "-n", ns}, h.args("--ttl=1h")...)...)
	h.must(t, append([]string{"upgrade", "listed", chart, "-n", ns, "--set", "jobs=false"}, h.args("--ttl=1h")...)...)
	if manifest := h.must(t, "get", "manifest", "listed", "-n", ns); strings.Contains(manifest, "JobList") {
		t.Fatalf("revision 2 should render no JobList:\n%s", manifest)
	}
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	j, err := cs.BatchV1().Jobs(ns).Get(context.Background(), "listed-1", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the JobList's Job did not survive the upgrade: %v", err)
	}
	if j.Spec.TTLSecondsAfterFinished == nil || *j.Spec.TTLSecondsAfterFinished != 3600 ||
		j.Annotations["helm.sh/resource-policy"] != "keep" || j.Annotations["shipjob.dev/ttl"] != "1h0m0s" {
		t.Errorf("job %s: ttl %v, annotations %v; want 3600, keep, 1h0m0s", j.Name, j.Spec.TTLSecondsAfterFinished, j.Annotations)
	}
}

// TestPostrenderSignals: the real binary ends within a second of SIGTERM or
// SIGINT, while Helm still holds stdin open and while it processes, exits
// non-zero and prints nothing on stdout (security review L3).
func TestPostrenderSignals(t *testing.T) {
	var big strings.Builder
	for i := range 40000 {
		fmt.Fprintf(&big, "---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j%d\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: b}]\n", i)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		for name, input := range map[string]string{"stdin open": "", "processing": big.String()} {
			t.Run(sig.String()+"/"+name, func(t *testing.T) {
				cmd := exec.Command(cluster.PluginBin, "postrender", "--ttl=1h")
				stdin, err := cmd.StdinPipe()
				if err != nil {
					t.Fatal(err)
				}
				var out, errOut bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errOut
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				if input != "" {
					_, _ = io.WriteString(stdin, input)
					_ = stdin.Close()
				}
				// On purpose a fixed wait: the signal is to come while the
				// post-renderer waits for (or works on) its input, which
				// shows nothing to wait for.
				time.Sleep(200 * time.Millisecond)
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				select {
				case err := <-done:
					if err == nil {
						t.Errorf("exit 0 after %v", sig)
					}
				case <-time.After(time.Second):
					_ = cmd.Process.Kill()
					<-done
					t.Fatalf("still running a second after %v", sig)
				}
				_ = stdin.Close()
				if out.Len() != 0 || !strings.Contains(errOut.String(), "postrender: stopped") {
					t.Errorf("stdout %d bytes, stderr %q", out.Len(), errOut.String())
				}
			})
		}
	}
}

// prDocs decodes a manifest stream into documents keyed by Kind/name.
func prDocs(t *testing.T, stream string) map[string]map[string]any {
	t.Helper()
	docs := map[string]map[string]any{}
	for _, d := range strings.Split("\n"+stream, "\n---") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatalf("helm output is not YAML: %v\n%s", err, d)
		}
		if m == nil {
			continue
		}
		meta, _ := m["metadata"].(map[string]any)
		docs[m["kind"].(string)+"/"+meta["name"].(string)] = m
	}
	return docs
}

// prCheckJob checks keep and the TTL on a decoded Job.
func prCheckJob(t *testing.T, job map[string]any, ttl int32, recorded string) {
	t.Helper()
	data, err := yaml.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	var j batchv1.Job
	if err := yaml.Unmarshal(data, &j); err != nil {
		t.Fatal(err)
	}
	if j.Annotations["helm.sh/resource-policy"] != "keep" || j.Annotations["shipjob.dev/ttl"] != recorded ||
		j.Spec.TTLSecondsAfterFinished == nil || *j.Spec.TTLSecondsAfterFinished != ttl {
		t.Errorf("job: annotations %v, ttl %v; want keep, %s and %d", j.Annotations, j.Spec.TTLSecondsAfterFinished, recorded, ttl)
	}
}
