package e2e

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// runSecretValue is the value of secret parameter name in run's own Secret.
func runSecretValue(t *testing.T, ns, run, name string) string {
	t.Helper()
	b64 := cluster.Kubectl(t, "-n", ns, "get", "secret", run+"-params", "-o", "jsonpath={.data.param-"+name+"}")
	v, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	return string(v)
}

// TestSecretParamsStaySecret (review N10 b, c, d, e) through the real
// binary and kubectl: values from a file or the environment (not argv);
// bad input for them is one line, exit 1, nothing written; dry runs mask
// them; an idempotency retry with another secret value is a conflict; a
// rerun after the parameter stopped being secret asks for the value.
func TestSecretParamsStaySecret(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	const fromFile = "file-secret-value"
	createSimJob(t, ns, "sec", "--param", "TOKEN=default-secret-value", "--secret-param", "TOKEN", "--param", "TARGET=a")
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(fromFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// (d) Values from a file and from the environment.
	first := trigger(t, ns, "sec", "--param-file", "TOKEN="+tokenFile, "--idempotency-key", "ci-1", "--wait")
	if v := runSecretValue(t, ns, first, "TOKEN"); v != fromFile {
		t.Errorf("--param-file: TOKEN is %q, want %q", v, fromFile)
	}
	home := os.Getenv("HOME")
	if home == "" {
		t.Fatal("HOME is not set")
	}
	second := trigger(t, ns, "sec", "--param-from-env", "TOKEN=HOME", "--wait")
	if v := runSecretValue(t, ns, second, "TOKEN"); v != home {
		t.Errorf("--param-from-env: TOKEN is %q, want $HOME", v)
	}

	// (b) Dry runs mask the value wherever it appears.
	for _, args := range [][]string{{"--dry-run=client", "-o", "yaml"}, {"--dry-run=server", "-o", "yaml"}, {"--dry-run=client", "-o", "json"}} {
		out := mustShipjob(t, append([]string{"run", "sec", "-n", ns, "--param-file", "TOKEN=" + tokenFile}, args...)...)
		if strings.Contains(out, fromFile) || strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(fromFile))) ||
			!strings.Contains(strings.ReplaceAll(out, `\u003csecret\u003e`, "<secret>"), "param-TOKEN: <secret>") &&
				!strings.Contains(out, `"param-TOKEN": "\u003csecret\u003e"`) {
			t.Errorf("run %s shows the secret value or no mask:\n%s", strings.Join(args, " "), out)
		}
	}
	out := mustShipjob(t, "run", "sec", "-n", ns, "--dry-run=client", "-o", "yaml")
	if strings.Contains(out, base64.StdEncoding.EncodeToString([]byte("default-secret-value"))) {
		t.Errorf("dry run shows the secret default:\n%s", out)
	}

	// Bad input: one line, exit 1, nothing written. (e) belongs here too:
	// the same key with another secret value is a conflict.
	before := objectVersions(t, ns)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"run", "sec", "--param-file", "TOKEN=" + dir + "/nope"},
			"error: invalid --param-file TOKEN=" + dir + "/nope: open " + dir + "/nope: no such file or directory"},
		{"unset variable", []string{"run", "sec", "--param-from-env", "TOKEN=SHIPJOB_E2E_SURELY_UNSET"},
			"error: invalid --param-from-env TOKEN=SHIPJOB_E2E_SURELY_UNSET: environment variable SHIPJOB_E2E_SURELY_UNSET is not set"},
		{"duplicate with --param", []string{"run", "sec", "--param", "TOKEN=x", "--param-file", "TOKEN=" + tokenFile},
			`error: parameter "TOKEN" is given twice`},
		{"rerun, missing file", []string{"rerun", first, "--param-file", "TOKEN=" + dir + "/nope"},
			"error: invalid --param-file TOKEN=" + dir + "/nope: open " + dir + "/nope: no such file or directory"},
		{"idempotency key, other secret", []string{"run", "sec", "--param", "TOKEN=another", "--idempotency-key", "ci-1"},
			`idempotency key "ci-1" was used by run ` + first + " with other parameters"},
	} {
		res := shipjob(t, append(tc.args, "-n", ns)...)
		if res.Code != 1 || res.Stdout != "" || strings.Count(strings.TrimSpace(res.Stderr), "\n") != 0 || !strings.Contains(res.Stderr, tc.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 and one line with %q", tc.name, res.Code, res.Stdout, res.Stderr, tc.want)
		}
	}
	if after := objectVersions(t, ns); after != before {
		t.Errorf("bad input changed the namespace:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// The same key and the same secret value: the run it made.
	if again := mustShipjob(t, "run", "sec", "-n", ns, "--param-file", "TOKEN="+tokenFile, "--idempotency-key", "ci-1"); runName(t, again) != first {
		t.Errorf("retry with the same secret: %q, want run %s", again, first)
	}

	// (c) A rerun carries the secret from the run's own Secret; once the
	// parameter is no longer secret, it asks for the value instead.
	rerun := runName(t, mustShipjob(t, "rerun", first, "-n", ns, "--wait"))
	if v := runSecretValue(t, ns, rerun, "TOKEN"); v != fromFile {
		t.Errorf("rerun: TOKEN is %q, want %q", v, fromFile)
	}
	mustShipjob(t, "set", "sec", "-n", ns, "--secret-param", "TOKEN=false")
	before = objectVersions(t, ns)
	res := shipjob(t, "rerun", first, "-n", ns)
	want := "error: secret parameter TOKEN of run " + first + ": its value was recorded as <secret>, and job sec no longer keeps it secret: it is not revealed (give --param TOKEN=VALUE"
	if res.Code != 1 || strings.Count(strings.TrimSpace(res.Stderr), "\n") != 0 || !strings.HasPrefix(res.Stderr, want) {
		t.Errorf("rerun of an un-secreted parameter: exit %d, stderr %q; want one line %q…", res.Code, res.Stderr, want)
	}
	if after := objectVersions(t, ns); after != before {
		t.Errorf("the refused rerun changed the namespace")
	}
	if ann := getJob(t, ns, first).Annotations["shipjob.dev/secret-digest"]; !strings.HasPrefix(ann, "v1:") || strings.Contains(ann, fromFile) {
		t.Errorf("secret digest annotation %q", ann)
	}
}
