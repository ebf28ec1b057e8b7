package postrender

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const jobHead = "apiVersion: batch/v1\nkind: Job\n"

func TestProcessErrors(t *testing.T) {
	ttl := Options{Keep: true, TTL: ttlOf(time.Hour), CronJobs: true}
	tests := []struct {
		name    string
		in      string
		opts    Options
		doc     int // 0: not a DocumentError
		line    int
		want    string
		wantErr error
	}{
		{name: "malformed job", in: "---\n# Source: a.yaml\napiVersion: v1\nkind: ConfigMap\n---\n# Source: b.yaml\n" + jobHead + "metadata:\n  name: x\n  bad: : :\n",
			opts: ttl, doc: 2, line: 11, want: "malformed YAML: mapping values are not allowed in this context"},
		{name: "unclosed flow in list", in: "apiVersion: v1\nkind: List\nitems: [\n  {kind: Job\n",
			opts: ttl, doc: 1, line: 3, want: "malformed YAML: did not find expected ',' or '}'"},
		{name: "tab indentation", in: jobHead + "metadata:\n\tname: x\n",
			opts: ttl, doc: 1, line: 4, want: "malformed YAML: found character that cannot start any token"},
		{name: "annotations is a sequence", in: "---\n" + jobHead + "metadata:\n  annotations:\n    - a\n",
			opts: ttl, doc: 1, line: 6, want: "metadata.annotations is a sequence, want a mapping"},
		{name: "metadata is a scalar", in: "a: b\n---\n" + jobHead + "metadata: job\n",
			opts: ttl, doc: 2, line: 5, want: "metadata is a scalar, want a mapping"},
		{name: "spec is a sequence", in: jobHead + "spec: []\n",
			opts: Options{TTL: ttlOf(time.Hour)}, doc: 1, line: 3, want: "spec is a sequence, want a mapping"},
		{name: "cronjob template is a scalar", in: "apiVersion: batch/v1\nkind: CronJob\nspec:\n  jobTemplate: x\n",
			opts: ttl, doc: 1, line: 4, want: "spec.jobTemplate is a scalar, want a mapping"},
		{name: "cronjob template annotations", in: "apiVersion: batch/v1\nkind: CronJob\nspec:\n  jobTemplate:\n    metadata:\n      annotations: 1\n",
			opts: ttl, doc: 1, line: 6, want: "spec.jobTemplate.metadata.annotations is a scalar, want a mapping"},
		{name: "list items not a sequence", in: "apiVersion: v1\nkind: List\nitems: {a: b}\n",
			opts: ttl, doc: 1, line: 3, want: "items is a mapping, want a sequence"},
		{name: "bad job in list", in: "apiVersion: v1\nkind: List\nitems:\n- kind: ConfigMap\n- " + "apiVersion: batch/v1\n  kind: Job\n  metadata: [x]\n",
			opts: ttl, doc: 1, line: 7, want: "items[1]: metadata is a sequence, want a mapping"},
		{name: "alias cycle", in: jobHead + "metadata: &m\n  self: *m\n",
			opts: ttl, doc: 1, line: 3, want: "alias refers to a node that contains it"},
		{name: "lone CR line breaks", in: jobHead + "metadata: {}\r---\rkind: Job\r",
			opts: ttl, doc: 1, line: 1, want: "more than one document"},
		{name: "duplicate key in a changed job", in: jobHead + "metadata:\n  name: a\n  name: b\n",
			opts: ttl, doc: 1, line: 5, want: `mapping key "name" already defined at line 4`},
		{name: "empty", in: "", opts: ttl, wantErr: ErrEmptyInput},
		{name: "whitespace", in: " \n\t\n\r\n", opts: ttl, wantErr: ErrEmptyInput},
		{name: "comments only", in: "# Source: a.yaml\n  # nothing\n", opts: ttl, wantErr: ErrEmptyInput},
		{name: "markers only", in: "---\n--- # x\n...\n---\n", opts: ttl, wantErr: ErrEmptyInput},
		{name: "directive only", in: "%YAML 1.1\n---\n", opts: ttl, wantErr: ErrEmptyInput},
		{name: "utf-16", in: "\xff\xfea\x00:\x00", opts: ttl, wantErr: ErrUnsupportedEncoding},
		{name: "negative ttl", in: "a: b\n", opts: Options{TTL: ttlOf(-time.Second)}, wantErr: ErrInvalidTTL},
		{name: "fractional ttl", in: "a: b\n", opts: Options{TTL: ttlOf(1500 * time.Millisecond)}, wantErr: ErrInvalidTTL},
		{name: "huge ttl", in: "a: b\n", opts: Options{TTL: ttlOf(MaxTTL + time.Second)}, wantErr: ErrInvalidTTL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Process([]byte(tc.in), tc.opts)
			if err == nil {
				t.Fatalf("no error; output:\n%s", out)
			}
			if out != nil {
				t.Errorf("output %q returned with the error", out)
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if !strings.HasPrefix(msg, "postrender: ") {
				t.Errorf("error %q lacks the package prefix", msg)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %q is not %v", msg, tc.wantErr)
			}
			if tc.want != "" && !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not contain %q", msg, tc.want)
			}
			var de *DocumentError
			if !errors.As(err, &de) {
				if tc.doc != 0 {
					t.Fatalf("error %q is not a *DocumentError", msg)
				}
				return
			}
			if de.Document != tc.doc || de.Line != tc.line {
				t.Errorf("document %d line %d, want document %d line %d (%s)", de.Document, de.Line, tc.doc, tc.line, msg)
			}
			if de.Unwrap() == nil {
				t.Errorf("DocumentError wraps nothing")
			}
		})
	}
}

func TestAllowEmpty(t *testing.T) {
	for _, in := range []string{"", "\n", "# Source: a.yaml\n", "---\n...\n"} {
		out, err := Process([]byte(in), Options{Keep: true, AllowEmpty: true})
		if err != nil || string(out) != in {
			t.Errorf("Process(%q) = %q, %v; want the input back", in, out, err)
		}
	}
	// AllowEmpty does not hide errors in documents with content.
	if _, err := Process([]byte(jobHead+"metadata: [\n"), Options{Keep: true, AllowEmpty: true}); err == nil {
		t.Error("malformed input passed with AllowEmpty")
	}
}
