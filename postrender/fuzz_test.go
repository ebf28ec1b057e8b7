package postrender

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fuzzOptions derives Options from the fuzzer's flags byte.
func fuzzOptions(flags uint8) Options {
	opts := Options{
		Keep:       flags&1 != 0,
		Override:   flags&2 != 0,
		CronJobs:   flags&4 != 0,
		AllowEmpty: flags&8 != 0,
	}
	if flags&16 != 0 {
		opts.TTL = ttlOf(time.Duration(flags>>5) * time.Hour)
	}
	return opts
}

// FuzzProcess checks that Process never panics, never returns output with an
// error or empty output without one, reports errors on one line, changes
// nothing but the policy's values, gives what it gives without the fast
// path, and is idempotent.
func FuzzProcess(f *testing.F) {
	names, err := filepath.Glob(filepath.Join("testdata", "*.in.yaml"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no seed inputs: %v", err)
	}
	for _, name := range names {
		f.Add(readFile(f, name), uint8(0x3d))
	}
	f.Add(genManifests(6), uint8(0x31))
	for _, s := range []string{
		"", "---\n", "# Source: a.yaml\n", "...\n", "%YAML 1.1\n---\n",
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: batch/v1\n  kind: Job\n",
		"apiVersion: batch/v1\nkind: Job\nmetadata: &m\n  a: *m\n",
		"apiVersion: batch/v1\nkind: CronJob\nspec:\n  jobTemplate: {}\n",
		"--- !!map\napiVersion: batch/v1\nkind: Job\n",
		"apiVersion: batch/v1\r\nkind: Job\r\n",
		"apiVersion: batch/v1\nkind: JobList\nitems:\n- metadata: {name: a}\n- {kind: Job, apiVersion: batch/v1, items: [{}]}\n",
		"apiVersion: batch/v1\nkind: Job\nmetadata:\n  labels: {a: explicit, <<: {a: merged, b: merged}}\n",
		"b: &b {kind: Job}\napiVersion: batch/v1\nkind: List\n<<: [*b, {items: [*b]}]\n",
	} {
		f.Add([]byte(s), uint8(0x37))
	}
	f.Fuzz(func(t *testing.T, in []byte, flags uint8) {
		opts := fuzzOptions(flags)
		out, err := Process(in, opts)
		if err != nil {
			if out != nil {
				t.Fatalf("output returned with error %v", err)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if len(out) == 0 && (len(in) != 0 || !opts.AllowEmpty) {
			t.Fatalf("empty output without error for %q", in)
		}
		checkSemantics(t, in, out, opts)
		compareFastPath(t, in, opts)
		again, err := Process(out, opts)
		if err != nil {
			t.Fatalf("second run: %v\n%s", err, out)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("not idempotent\n--- first ---\n%s--- second ---\n%s", out, again)
		}
	})
}
