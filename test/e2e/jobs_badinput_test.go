package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// TestJobsBadInput: every bad input is one clear line on stderr, exit 1,
// nothing on stdout, and nothing in the namespace changed.
func TestJobsBadInput(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	must(t, ns, "create", "exists", "--image", "busybox")
	dir := t.TempDir()
	file := func(name string, size int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Repeat("x", size)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	small, big, half1, half2 := file("small", 10), file("big", 1<<20+1), file("half1", 600<<10), file("half2", 600<<10)
	doc := must(t, ns, "get", "exists", "-o", "yaml")
	changed := strings.Replace(doc, "timeout: 15m", "timeout: 1h", 1)
	img := []string{"--image", "busybox"}
	c := func(args ...string) []string { return append([]string{"create", "x"}, args...) }

	cases := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"name not DNS-1123", []string{"create", "Bad_Name", "--image", "busybox"}, "", `error: invalid job name "Bad_Name": a lowercase RFC 1123 label`},
		{"name too long", []string{"create", strings.Repeat("a", 53), "--image", "busybox"}, "", "must be at most 52 characters (runs add a suffix), got 53"},
		{"no image", c(), "", "error: an image is required (--image)"},
		{"bad image reference", c("--image", "Not/A Image:1"), "", `error: invalid image reference "Not/A Image:1"`},
		{"unknown registry", c("--registry", "nope", "--image", "app"), "", `error: registry "nope" not found in namespace ` + ns},
		{"bad tag", c("--image", "busybox", "--tag", "-x"), "", `error: invalid image tag "-x"`},
		{"tag twice", c("--image", "busybox:1", "--tag", "2"), "", `error: the image tag is given twice`},
		{"bad memory", c(append(img, "--memory", "lots")...), "", `error: invalid memory "lots": not a quantity`},
		{"bad cpu", c(append(img, "--cpu", "-1")...), "", `error: invalid cpu "-1": must be more than 0`},
		{"request over limit", c(append(img, "--requests-memory", "1Gi")...), "", "error: memory request 1Gi is more than its limit 128Mi"},
		{"env name", c(append(img, "--env", "1BAD=x")...), "", `error: invalid env name "1BAD"`},
		{"env without value", c(append(img, "--env", "FOO")...), "", `error: invalid --env "FOO": want NAME=VALUE`},
		{"param name", c(append(img, "--param", "my-param=1")...), "", `error: invalid parameter name "my-param"`},
		{"env and param", c(append(img, "--env", "A=1", "--param", "A=2")...), "", `error: "A" is both a static env and a parameter: choose one`},
		{"env twice", c(append(img, "--env", "A=1", "--env", "A=2")...), "", `error: env "A" is given twice`},
		{"duplicate mount path", c(append(img, "--file", "/etc/a="+small, "--file", "/etc/a="+small)...), "", `error: file path "/etc/a" is given twice`},
		{"relative mount path", c(append(img, "--file", "etc/a="+small)...), "", `error: invalid file path "etc/a": must be absolute`},
		{"missing local file", c(append(img, "--file", "/etc/a="+dir+"/nope")...), "", "error: cannot read --file /etc/a=" + dir + "/nope: open " + dir + "/nope: no such file or directory"},
		{"unreadable local file", c(append(img, "--file", "/etc/a="+dir)...), "", "error: cannot read --file /etc/a=" + dir + ": read " + dir + ": is a directory"},
		{"file too big", c(append(img, "--file", "/etc/a="+big)...), "", "file too large: a job's files must fit in 1008 KiB in total"},
		{"files too big together", c(append(img, "--file", "/a="+half1, "--file", "/b="+half2)...), "", "error: job x is too large to store: 1200 KiB with its files, the limit is 1008 KiB"},
		{"bad timeout", c(append(img, "--timeout", "soon")...), "", `error: invalid timeout "soon": use a duration like 90s, 15m, 2h, 14d, or "none"`},
		{"fractional timeout", c(append(img, "--timeout", "1.5s")...), "", `error: invalid timeout "1.5s": must be whole seconds`},
		{"bad retention", c(append(img, "--retention", "0s")...), "", `error: invalid retention "0s"`},
		{"retries out of range", c(append(img, "--retries", "101")...), "", "error: invalid retries 101: must be between 0 and 100"},
		{"bad concurrency policy", c(append(img, "--concurrency-policy", "Sometimes")...), "", `error: invalid concurrency policy "Sometimes": use Allow, Forbid or Replace`},
		{"negative max active runs", c(append(img, "--max-active-runs", "-1")...), "", "error: invalid maxActiveRuns -1: must be between 0 (no limit) and 10000"},
		{"max active runs not a number", c(append(img, "--max-active-runs", "many")...), "", `invalid argument "many" for "--max-active-runs"`},
		{"tag override without digest", c(append(img, "--allow-tag-override")...), "", "error: allowTagOverride is only for a job pinned to a digest"},
		{"param type unknown", c(append(img, "--param", "N=1", "--param-type", "N=int")...), "", `error: invalid type "int" for parameter "N": use string, integer, number or boolean`},
		{"param default not its type", c(append(img, "--param", "N=many", "--param-type", "N=integer")...), "", `error: the default does not fit: invalid value "many" for parameter "N": want an integer`},
		{"param default not in enum", c(append(img, "--param", "R=asia", "--param-enum", "R=eu,us")...), "", `error: the default does not fit: invalid value "asia" for parameter "R": allowed: eu, us`},
		{"param enum repeats", c(append(img, "--param", "R=eu", "--param-enum", "R=eu,eu")...), "", `error: parameter "R" allows "eu" twice`},
		{"param pattern invalid", c(append(img, "--param", "T=x", "--param-pattern", "T=(")...), "", `error: invalid pattern "("`},
		{"param default not matching", c(append(img, "--param", "T=x", "--param-pattern", "T=[0-9]+")...), "", `error: the default does not fit: invalid value "x" for parameter "T": must match [0-9]+`},
		{"type of unknown param", c(append(img, "--param-type", "NOPE=integer")...), "", `error: --param-type NOPE: the job has no parameter "NOPE" (add it with --param or --required-param)`},
		{"secret unknown param", c(append(img, "--secret-param", "NOPE")...), "", `error: --secret-param NOPE: the job has no parameter "NOPE"`},
		{"secret param bad value", c(append(img, "--param", "S=x", "--secret-param", "S=maybe")...), "", `error: invalid --secret-param "S=maybe": want NAME, NAME=true or NAME=false`},
		{"param type twice", c(append(img, "--param", "N=1", "--param-type", "N=integer", "--param-type", "N=number")...), "", `error: --param-type for parameter "N" is given twice`},
		{"reserved param name", c(append(img, "--param", "SHIPJOB_TASK_INDEX=1")...), "", `error: parameter "SHIPJOB_TASK_INDEX" is reserved`},
		{"reserved env name", c(append(img, "--env", "SHIPJOB_TASK_COUNT=1")...), "", `error: env "SHIPJOB_TASK_COUNT" is reserved`},
		{"negative tasks", c(append(img, "--tasks", "-1")...), "", "error: invalid tasks -1: must be between 1 and 10000"},
		{"parallelism over tasks", c(append(img, "--tasks", "2", "--parallelism", "3")...), "", "error: invalid parallelism 3: must be between 1 and the number of tasks (2), or 0 for all"},
		{"reserved label", c(append(img, "-l", "shipjob.dev/x=y")...), "", `error: invalid label "shipjob.dev/x": the shipjob.dev/ prefix is reserved`},
		{"unknown flag", c(append(img, "--colour", "red")...), "", "error: unknown flag: --colour"},
		{"bad dry-run", c(append(img, "--dry-run=maybe")...), "", `error: invalid --dry-run "maybe"`},
		{"create existing", []string{"create", "exists", "--image", "busybox"}, "", `Error from server (AlreadyExists): jobs.shipjob.dev "exists" already exists`},
		{"get missing", []string{"get", "missing"}, "", `Error from server (NotFound): jobs.shipjob.dev "missing" not found`},
		{"delete missing", []string{"delete", "missing"}, "", `Error from server (NotFound): jobs.shipjob.dev "missing" not found`},
		{"set missing", []string{"set", "missing", "--tag", "2"}, "", `Error from server (NotFound): jobs.shipjob.dev "missing" not found`},
		{"edit missing", []string{"edit", "missing"}, "", `Error from server (NotFound): jobs.shipjob.dev "missing" not found`},
		{"set nothing", []string{"set", "exists"}, "", "error: no changes given"},
		{"set bad quantity", []string{"set", "exists", "--cpu", "fast"}, "", `error: invalid cpu "fast"`},
		{"apply unknown field", []string{"apply", "-f", "-"}, strings.Replace(changed, "  retries: 0", "  retries: 0\n  foo: bar", 1), `error: stdin: invalid job definition: unknown field "spec.foo"`},
		{"apply wrong kind", []string{"apply", "-f", "-"}, strings.Replace(changed, "kind: Job", "kind: CronJob", 1), `error: stdin: unsupported kind "CronJob"`},
		{"apply wrong apiVersion", []string{"apply", "-f", "-"}, strings.Replace(changed, "shipjob.dev/v1alpha1", "shipjob.dev/v1", 1), `error: stdin: unsupported apiVersion "shipjob.dev/v1" for kind Job`},
		{"apply field in wrong case", []string{"apply", "-f", "-"}, strings.Replace(changed, "  timeout:", "  Timeout:", 1), `unknown field "spec.Timeout"`},
		{"apply annotations", []string{"apply", "-f", "-"}, strings.Replace(changed, "  name: exists", "  name: exists\n  annotations: {a: b}", 1), "metadata.annotations are not supported on jobs"},
		{"apply second doc bad", []string{"apply", "-f", "-"}, changed + "---\n" + strings.Replace(doc, "timeout: 15m", "timeout: never", 1), `error: stdin: invalid timeout "never"`},
		{"apply third doc wrong kind", []string{"apply", "-f", "-"}, changed + "---\n" + changed + "---\napiVersion: v1\nkind: Pod\n", "error: stdin: document 3: unsupported kind \"Pod\""},
		{"apply other namespace", []string{"apply", "-f", "-"}, strings.Replace(changed, "namespace: "+ns, "namespace: elsewhere", 1), `the namespace from the provided object "elsewhere" does not match the namespace "` + ns + `"`},
		{"apply missing path", []string{"apply", "-f", dir + "/none.yaml"}, "", `error: the path "` + dir + `/none.yaml" does not exist`},
		{"list bad output", []string{"list", "-o", "xml"}, "", `error: unable to match a printer suitable for the output format "xml"`},
		{"list bad selector", []string{"list", "-l", "a=("}, "", `error: invalid label selector "a=("`},
		{"registry bad server", []string{"registry", "add", "r", "--server", "https://r.io", "--username", "u", "--password-stdin"}, "pw", `error: invalid registry server "https://r.io"`},
		{"registry no password", []string{"registry", "add", "r", "--server", "r.io", "--username", "u"}, "", "error: --username and a password (--password-stdin) are required"},
		{"registry delete missing", []string{"registry", "delete", "nope"}, "", `Error from server (NotFound): registries.shipjob.dev "nope" not found`},
	}
	for _, tc := range cases {
		before := snapshot(t, ns)
		res := sj(t, ns, tc.stdin, nil, tc.args...)
		switch {
		case res.Code != 1:
			t.Errorf("%s: exit %d, want 1 (stdout %q, stderr %q)", tc.name, res.Code, res.Stdout, res.Stderr)
		case !strings.Contains(res.Stderr, tc.want):
			t.Errorf("%s: stderr %q, want it to contain %q", tc.name, res.Stderr, tc.want)
		case strings.Count(res.Stderr, "\n") != 1 || res.Stdout != "":
			t.Errorf("%s: want one line on stderr and nothing on stdout, got stdout %q, stderr %q", tc.name, res.Stdout, res.Stderr)
		}
		if after := snapshot(t, ns); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("%s: the namespace changed:\nbefore %v\nafter  %v", tc.name, before, after)
		}
	}
	if len(cases) < 25 {
		t.Fatalf("only %d bad-input cases", len(cases))
	}
}
