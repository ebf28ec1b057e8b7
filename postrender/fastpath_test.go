package postrender

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
)

func TestMayBeRelevant(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want bool
	}{
		{"apiVersion: v1\nkind: ConfigMap\n", false},
		{"apiVersion: batch/v1\nkind: Job\n", true},
		{"kind: CronJob\n", true},
		{"kind: List\n", true},
		{`kind: "J\x6fb"` + "\n", true},          // escapes need a backslash in double quotes
		{`kind: 'J\x6fb'` + "\n", false},         // no escapes in single quotes
		{"data:\n  a: |\n    kind: Job\n", true}, // parsed, then found to be a ConfigMap
	} {
		if got := mayBeRelevant([]byte(tc.doc)); got != tc.want {
			t.Errorf("mayBeRelevant(%q) = %v, want %v", tc.doc, got, tc.want)
		}
	}
}

// A document the fast path skips is not checked for syntax; one it parses is.
func TestFastPathSyntax(t *testing.T) {
	skipped := "apiVersion: v1\nkind: ConfigMap\ndata: {a: [\n"
	if out, err := Process([]byte(skipped), keepTTL); err != nil || string(out) != skipped {
		t.Errorf("skipped document: %q, %v; want it copied", out, err)
	}
	parsed := "# mentions a Job\n" + skipped
	var de *DocumentError
	if _, err := Process([]byte(parsed), keepTTL); !errors.As(err, &de) {
		t.Errorf("parsed document: error %v, want a *DocumentError", err)
	}
}

// With the fast path off, every input gives the same output: the fast path
// only skips documents that the policy would not change.
func TestFastPathAgrees(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("testdata", "*.in.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		in := readFile(t, name)
		compareFastPath(t, in, Options{Keep: true, TTL: ttlOf(3600e9), CronJobs: true})
	}
}

func compareFastPath(t testing.TB, in []byte, opts Options) {
	t.Helper()
	fast, errFast := process(context.Background(), in, docProcessor{opts: opts})
	slow, errSlow := process(context.Background(), in, docProcessor{opts: opts, parseAll: true})
	switch {
	case errFast != nil && errSlow == nil:
		t.Fatalf("fast path fails where parsing all succeeds: %v", errFast)
	case errFast == nil && errSlow == nil && !bytes.Equal(fast, slow):
		t.Fatalf("fast path output differs\n--- fast ---\n%s--- all parsed ---\n%s", fast, slow)
	}
}
