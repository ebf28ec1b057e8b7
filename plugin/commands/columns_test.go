package commands

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

func TestColumnsPrinter(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cols")
	if err := os.WriteFile(file, []byte("NAME   PARAMS\nmetadata.name  {.spec.parameters[*].name}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	jobs := sampleJobs()
	cases := map[string]struct {
		output    string
		noHeaders bool
		list      bool
		want      string
	}{
		"list":          {"custom-columns=N:.metadata.name,NS:.metadata.namespace", false, true, "N       NS\nalpha   team-a\nbeta    team-b\n"},
		"missing value": {"custom-columns=N:.metadata.name,D:.spec.description", false, true, "N       D\nalpha   Migrations\nbeta    <none>\n"},
		"many values":   {"custom-columns=P:.spec.parameters[*].name", false, false, "P\nLIMIT,TARGET\n"},
		"no headers":    {"custom-columns=N:metadata.name", true, true, "alpha\nbeta\n"},
		"braces":        {"custom-columns=N:{.metadata.name}", false, false, "N\nalpha\n"},
		"file":          {"custom-columns-file=" + file, false, true, "NAME    PARAMS\nalpha   LIMIT,TARGET\nbeta    <none>\n"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := newColumnsPrinter(tc.output, tc.noHeaders)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if tc.list {
				err = p.PrintObj(jobdef.NewList(jobs), &out)
			} else {
				err = p.PrintObj(&jobs[0], &out)
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got:\n%q\nwant:\n%q", out.String(), tc.want)
			}
		})
	}
}

func TestColumnsPrinterErrors(t *testing.T) {
	cases := map[string]string{
		"custom-columns":                   "needs a value",
		"custom-columns=":                  "needs a value",
		"custom-columns=NAME":              "want HEADER:JSONPATH",
		"custom-columns=N:.a,:.b":          "want HEADER:JSONPATH",
		"custom-columns=N:{.a":             "column N",
		"custom-columns-file=/nonexisting": "no such file",
	}
	for output, want := range cases {
		if _, err := newColumnsPrinter(output, false); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", output, err, want)
		}
	}
}
