package commands

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"
)

func jobYAML(t *testing.T, name, timeout string) string {
	t.Helper()
	j := storedJob(name)
	j.Namespace = ""
	j.Spec.Timeout = timeout
	data, err := yaml.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func newApply(tgt target, out *bytes.Buffer, in string) *ApplyOptions {
	return &ApplyOptions{target: tgt, dryRun: dryRunNone, PrintFlags: genericclioptions.NewPrintFlags(""),
		IOStreams: genericiooptions.IOStreams{In: strings.NewReader(in), Out: out, ErrOut: out}}
}

func TestApply(t *testing.T) {
	tgt, client := fakeTarget(t, storedJob("same"), storedJob("changed"))
	in := jobYAML(t, "same", "15m") + "---\n" + jobYAML(t, "changed", "1h") + "---\n" + jobYAML(t, "new", "15m")
	var out bytes.Buffer
	o := newApply(tgt, &out, in)
	if err := o.read("-"); err != nil {
		t.Fatal(err)
	}
	if err := o.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "job.shipjob.dev/same unchanged\njob.shipjob.dev/changed configured\njob.shipjob.dev/new created\n"
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if n := writes(client); n != 2 {
		t.Fatalf("%d writes, want 2 (unchanged jobs are not written)", n)
	}
	changed, _ := tgt.store(false).Get(context.Background(), "changed")
	if changed.Spec.Timeout != "1h" {
		t.Fatalf("not updated: %+v", changed.Spec)
	}

	out.Reset()
	o = newApply(tgt, &out, jobYAML(t, "changed", "2h"))
	o.dryRun = dryRunServer
	_ = o.read("-")
	if err := o.Run(context.Background()); err != nil || out.String() != "job.shipjob.dev/changed configured (server dry run)\n" {
		t.Fatalf("server dry run: %v %q", err, out.String())
	}
}

func TestApplyRejects(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(jobYAML(t, "a", "15m")), 0o644))
	must(os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "sub", "b.yml"), []byte(jobYAML(t, "b", "15m")), 0o644))
	must(os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644))

	tgt, _ := fakeTarget(t)
	var out bytes.Buffer
	o := newApply(tgt, &out, "")
	must(o.read(dir))
	if len(o.jobs) != 1 || o.jobs[0].Name != "a" || o.jobs[0].Namespace != "ns" {
		t.Fatalf("directory without -R: %+v", o.jobs)
	}
	o = newApply(tgt, &out, "")
	o.Recursive = true
	must(o.read(dir))
	if len(o.jobs) != 2 {
		t.Fatalf("directory with -R: %d jobs", len(o.jobs))
	}

	cases := map[string]struct {
		in, want string
		explicit bool
	}{
		"twice":           {jobYAML(t, "a", "15m") + "---\n" + jobYAML(t, "a", "1h"), "job ns/a is given twice", false},
		"invalid":         {jobYAML(t, "a", "soon"), `stdin: invalid timeout "soon"`, false},
		"other namespace": {strings.Replace(jobYAML(t, "a", "15m"), "name: a", "name: a\n  namespace: prod", 1), `the namespace from the provided object "prod" does not match the namespace "ns"`, true},
		"bad name":        {jobYAML(t, "A_b", "15m"), `invalid job name "A_b"`, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tgt.ExplicitNamespace = tc.explicit
			o := newApply(tgt, &out, tc.in)
			if err := o.read("-"); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
	if err := newApply(tgt, &out, "").read(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing file: %v", err)
	}
	if err := newApply(tgt, &out, "# empty\n").Validate(); err == nil {
		t.Fatal("apply of nothing accepted")
	}
}
