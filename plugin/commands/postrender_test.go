package commands

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/shipjob/kubectl-shipjob/plugin/helmrun"
)

const prJob = `# Source: app/templates/job.yaml
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate-1
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: app:1
`

const prConfigMap = `# Source: app/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg # a comment
data:
  run.sh: |
    #!/bin/sh
    exec run
`

const prOwnJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: own
  annotations:
    helm.sh/resource-policy: delete
spec:
  ttlSecondsAfterFinished: 60
`

const prCronJob = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
`

var prStream = "---\n" + prJob + "---\n" + prConfigMap

// postrenderCLI runs `kubectl-shipjob args...` the way Execute does and
// returns stdout, stderr and the exit code.
func postrenderCLI(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}
	root := NewRootCmd(streams, helmrun.New)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err == nil {
		return out.String(), errOut.String(), 0
	}
	printError(&errOut, err)
	return out.String(), errOut.String(), 1
}

// jobView is what the post-renderer sets on a Job or a CronJob's template.
type jobView struct {
	Annotations map[string]string
	TTL         *int32
}

// decodeJobs decodes the Jobs and CronJob job templates of a stream, by name.
func decodeJobs(t *testing.T, stream string) map[string]jobView {
	t.Helper()
	got := map[string]jobView{}
	for _, doc := range strings.Split(stream, "\n---\n") {
		var j batchv1.Job
		if err := yaml.Unmarshal([]byte(doc), &j); err != nil {
			t.Fatalf("output is not YAML: %v\n%s", err, doc)
		}
		switch j.Kind {
		case "Job":
			got[j.Name] = jobView{j.Annotations, j.Spec.TTLSecondsAfterFinished}
		case "CronJob":
			var c batchv1.CronJob
			if err := yaml.Unmarshal([]byte(doc), &c); err != nil {
				t.Fatal(err)
			}
			got[c.Name] = jobView{c.Spec.JobTemplate.Annotations, c.Spec.JobTemplate.Spec.TTLSecondsAfterFinished}
		}
	}
	return got
}

func keepTTL(keep bool, ttl *int32, recorded string) jobView {
	v := jobView{Annotations: map[string]string{}, TTL: ttl}
	if keep {
		v.Annotations["helm.sh/resource-policy"] = "keep"
	}
	if recorded != "" {
		v.Annotations["shipjob.dev/ttl"] = recorded
	}
	if len(v.Annotations) == 0 {
		v.Annotations = nil
	}
	return v
}

func TestPostrender(t *testing.T) {
	t.Setenv(PostrenderErrorFileEnv, "")
	own := jobView{Annotations: map[string]string{"helm.sh/resource-policy": "delete"}, TTL: i32(60)}
	cases := map[string]struct {
		args []string
		in   string
		want map[string]jobView
	}{
		"defaults: keep and 14 days": {in: prStream,
			want: map[string]jobView{"migrate-1": keepTTL(true, i32(1209600), "336h0m0s")}},
		"ttl none": {args: []string{"--ttl", "none"}, in: prStream,
			want: map[string]jobView{"migrate-1": keepTTL(true, nil, "")}},
		"ttl in days, no keep": {args: []string{"--ttl=1d12h", "--keep=false"}, in: prStream,
			want: map[string]jobView{"migrate-1": keepTTL(false, i32(129600), "36h0m0s")}},
		"ttl in seconds": {args: []string{"--ttl=3s"}, in: prStream,
			want: map[string]jobView{"migrate-1": keepTTL(true, i32(3), "3s")}},
		"existing values kept": {args: []string{"--ttl=1h"}, in: prOwnJob,
			want: map[string]jobView{"own": own}},
		"existing values overridden": {args: []string{"--ttl=1h", "--override"}, in: prOwnJob,
			want: map[string]jobView{"own": keepTTL(true, i32(3600), "1h0m0s")}},
		"cronjobs left alone": {args: []string{"--ttl=1h"}, in: prCronJob,
			want: map[string]jobView{"nightly": {}}},
		"cronjobs": {args: []string{"--ttl=1h", "--cronjobs"}, in: prCronJob,
			want: map[string]jobView{"nightly": keepTTL(false, i32(3600), "1h0m0s")}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out, errOut, code := postrenderCLI(t, tc.in, append([]string{"postrender"}, tc.args...)...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			got := decodeJobs(t, out)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d jobs, want %d:\n%s", len(got), len(tc.want), out)
			}
			for n, w := range tc.want {
				g := got[n]
				if !maps.Equal(g.Annotations, w.Annotations) || !equalInt32(g.TTL, w.TTL) {
					t.Errorf("%s: got annotations %v ttl %v, want %v ttl %v\n%s", n, g.Annotations, ptrString(g.TTL), w.Annotations, ptrString(w.TTL), out)
				}
			}
			if strings.Contains(tc.in, prConfigMap) && !strings.Contains(out, "---\n"+prConfigMap) {
				t.Errorf("ConfigMap not passed through byte for byte:\n%s", out)
			}
			if strings.HasPrefix(tc.in, "---\n# Source:") && !strings.HasPrefix(out, "---\n# Source: app/templates/job.yaml\n") {
				t.Errorf("Helm's separator and Source comment lost:\n%s", out)
			}
		})
	}
}

func TestPostrenderAllowEmpty(t *testing.T) {
	t.Setenv(PostrenderErrorFileEnv, "")
	for _, in := range []string{"", "\n", "---\n# Source: x.yaml\n"} {
		out, errOut, code := postrenderCLI(t, in, "postrender", "--allow-empty")
		if code != 0 || out != in || errOut != "" {
			t.Errorf("input %q: exit %d, stdout %q, stderr %q; want the input back", in, code, out, errOut)
		}
	}
}

// TestPostrenderErrors: one line on stderr, exit 1, nothing on stdout.
func TestPostrenderErrors(t *testing.T) {
	t.Setenv(PostrenderErrorFileEnv, "")
	cases := map[string]struct {
		args []string
		in   string
		want string
	}{
		"malformed Job": {in: prStream + "---\nkind: Job\nmetadata: [\n",
			want: "error: postrender: document 3, line 26: malformed YAML: did not find expected node content\n"},
		"empty input":       {in: "", want: "error: postrender: input holds no YAML documents"},
		"only comments":     {in: "---\n# Source: a.yaml\n---\n", want: "error: postrender: input holds no YAML documents"},
		"bad ttl":           {args: []string{"--ttl", "soon"}, in: prStream, want: `error: --ttl: invalid TTL "soon": want seconds ("3600"), a duration ("90m", "336h") or days ("14d")` + "\n"},
		"negative ttl":      {args: []string{"--ttl=-1h"}, in: prStream, want: `error: --ttl: invalid TTL "-1h": negative` + "\n"},
		"empty ttl":         {args: []string{"--ttl="}, in: prStream, want: `error: --ttl: invalid TTL "": empty value (use "none" for no TTL)` + "\n"},
		"fraction of ttl":   {args: []string{"--ttl=1.5s"}, in: prStream, want: `error: --ttl: invalid TTL "1.5s": not a whole number of seconds` + "\n"},
		"unknown flag":      {args: []string{"--ttl-seconds=3"}, in: prStream, want: "error: unknown flag: --ttl-seconds\n"},
		"positional args":   {args: []string{"chart"}, in: prStream, want: `error: unknown command "chart" for "kubectl shipjob postrender"` + "\n"},
		"not UTF-8":         {in: "\xff\xfe" + prStream, want: "error: postrender: input is not UTF-8\n"},
		"duplicate key Job": {in: "kind: Job\napiVersion: batch/v1\nkind: Job\n", want: "error: postrender: document 1, line "},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out, errOut, code := postrenderCLI(t, tc.in, append([]string{"postrender"}, tc.args...)...)
			if code != 1 || out != "" {
				t.Fatalf("exit %d, stdout %q; want exit 1 and no output", code, out)
			}
			if !strings.HasPrefix(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("stderr %q, want one line starting with %q", errOut, tc.want)
			}
		})
	}
}

func TestPostrenderErrorFile(t *testing.T) {
	dir := t.TempDir()
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			return "(" + err.Error() + ")"
		}
		return string(b)
	}

	t.Run("flag", func(t *testing.T) {
		t.Setenv(PostrenderErrorFileEnv, "")
		p := filepath.Join(dir, "flag.err")
		_, errOut, code := postrenderCLI(t, "", "postrender", "--error-file", p)
		if code != 1 || read(p) != errOut || !strings.Contains(errOut, "input holds no YAML documents") {
			t.Errorf("exit %d, stderr %q, file %q; want the stderr line in the file", code, errOut, read(p))
		}
	})
	t.Run("environment", func(t *testing.T) {
		p := filepath.Join(dir, "env.err")
		t.Setenv(PostrenderErrorFileEnv, p)
		_, errOut, code := postrenderCLI(t, "kind: Job\nx: [\n", "postrender")
		if code != 1 || read(p) != errOut || !strings.Contains(errOut, "document 1, line 2: malformed YAML") {
			t.Errorf("exit %d, stderr %q, file %q; want the stderr line in the file", code, errOut, read(p))
		}
	})
	t.Run("flag wins over environment", func(t *testing.T) {
		envFile, flagFile := filepath.Join(dir, "env2.err"), filepath.Join(dir, "flag2.err")
		t.Setenv(PostrenderErrorFileEnv, envFile)
		_, errOut, _ := postrenderCLI(t, prStream, "postrender", "--error-file="+flagFile, "--ttl=x")
		if read(flagFile) != errOut || !strings.HasPrefix(read(envFile), "(") {
			t.Errorf("flag file %q, env file %q; want only the flag's file written", read(flagFile), read(envFile))
		}
	})
	t.Run("flag parse error", func(t *testing.T) {
		p := filepath.Join(dir, "parse.err")
		t.Setenv(PostrenderErrorFileEnv, p)
		_, errOut, code := postrenderCLI(t, prStream, "postrender", "--bogus")
		if code != 1 || read(p) != errOut || errOut != "error: unknown flag: --bogus\n" {
			t.Errorf("exit %d, stderr %q, file %q", code, errOut, read(p))
		}
	})
	t.Run("success empties a stale file", func(t *testing.T) {
		t.Setenv(PostrenderErrorFileEnv, "")
		p := filepath.Join(dir, "stale.err")
		if err := os.WriteFile(p, []byte("error: old\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, _, code := postrenderCLI(t, prStream, "postrender", "--error-file", p)
		if code != 0 || out == "" || read(p) != "" {
			t.Errorf("exit %d, file %q; want success and an empty file", code, read(p))
		}
	})
	t.Run("success creates no file", func(t *testing.T) {
		t.Setenv(PostrenderErrorFileEnv, "")
		p := filepath.Join(dir, "none.err")
		if _, _, code := postrenderCLI(t, prStream, "postrender", "--error-file", p); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("error file created on success: %v", err)
		}
	})
	t.Run("unwritable file", func(t *testing.T) {
		t.Setenv(PostrenderErrorFileEnv, "")
		p := filepath.Join(dir, "missing-dir", "x.err")
		out, errOut, code := postrenderCLI(t, "", "postrender", "--error-file", p)
		if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 ||
			!strings.Contains(errOut, "input holds no YAML documents") || !strings.Contains(errOut, "writing the error file failed: open "+p) {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
}

// TestPostrenderNoCluster: a kubeconfig that cannot be loaded does not
// matter; the command builds no client.
func TestPostrenderNoCluster(t *testing.T) {
	t.Setenv(PostrenderErrorFileEnv, "")
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	out, errOut, code := postrenderCLI(t, prStream, "postrender", "--kubeconfig", "/nonexistent", "--context", "nope")
	if code != 0 || !strings.Contains(out, "helm.sh/resource-policy") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestPostrenderStopsWhenSignalled: SIGTERM or SIGINT (the context main
// cancels) ends a run at once, also while stdin is still open, with an error
// and nothing on stdout (security review L3).
func TestPostrenderStopsWhenSignalled(t *testing.T) {
	t.Setenv(PostrenderErrorFileEnv, "")
	// Helm has not closed stdin yet. It stays open after the test: closing
	// it would let the command's reader, which a signal leaves behind (the
	// process exits right after), go on to process the input and change the
	// GC settings under the tests that follow (TestPostrenderGCPolicy).
	stdin, _ := io.Pipe()
	var out, errOut bytes.Buffer
	root := NewRootCmd(genericiooptions.IOStreams{In: stdin, Out: &out, ErrOut: &errOut}, helmrun.New)
	root.SetArgs([]string{"postrender"})
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	time.Sleep(50 * time.Millisecond)
	cancel(errors.New("terminated signal received"))
	select {
	case err := <-done:
		if err == nil || err.Error() != "postrender: stopped before writing any output: terminated signal received" {
			t.Errorf("error %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("still running a second after the signal")
	}
	if out.Len() != 0 {
		t.Errorf("stdout: %q", out.String())
	}
}

// TestPostrenderGCPolicy: small input runs without collections until the
// memory limit, larger input and GOGC/GOMEMLIMIT from the user keep Go's
// pacing, and the settings are restored afterwards.
func TestPostrenderGCPolicy(t *testing.T) {
	env := map[string]string{}
	o := &PostrenderOptions{getenv: func(k string) string { return env[k] }}
	gcPercent := func() int { p := debug.SetGCPercent(-1); debug.SetGCPercent(p); return p }
	// Go's defaults (a test binary keeps plugin/startup's pause).
	const before = 100
	prevPercent, prevLimit := debug.SetGCPercent(before), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(prevPercent); debug.SetMemoryLimit(prevLimit) })
	cases := map[string]struct {
		size int
		env  map[string]string
		off  bool
	}{
		"small":      {size: 100 << 10, off: true},
		"large":      {size: smallInput + 1},
		"GOGC":       {size: 10, env: map[string]string{"GOGC": "50"}},
		"GOMEMLIMIT": {size: 10, env: map[string]string{"GOMEMLIMIT": "1GiB"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			clear(env)
			maps.Copy(env, tc.env)
			restore := o.tuneGC(tc.size)
			if got := gcPercent(); (got == -1) != tc.off {
				t.Errorf("GC percent %d during the run, want off=%v", got, tc.off)
			}
			if tc.off && debug.SetMemoryLimit(-1) != gcMemoryLimit {
				t.Errorf("memory limit not set")
			}
			restore()
			if got := gcPercent(); got != before {
				t.Errorf("GC percent %d after the run, want %d", got, before)
			}
		})
	}
}

func equalInt32(a, b *int32) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func ptrString(p *int32) any {
	if p == nil {
		return "nil"
	}
	return *p
}

func i32(v int32) *int32 { return &v }
