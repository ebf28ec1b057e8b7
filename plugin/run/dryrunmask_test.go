package run

import (
	"strings"
	"testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// TestMaskSecretParamsAnySecret: the mask goes by key, in every Secret of
// the output (whatever it is named), and leaves other documents as they
// are.
func TestMaskSecretParamsAnySecret(t *testing.T) {
	def := jobdef.New("ns", "migrate")
	def.Spec.Parameters = []jobdef.Parameter{{Name: "TOKEN", Secret: true}, {Name: "TARGET"}}
	in := "---\n# Source: x\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: a\n" +
		"---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: shared\ndata:\n  file-0: eA==\n" +
		"---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: per-run\ndata:\n  param-TOKEN: aHVudGVyMg==\n  param-TARGET: djE=\nstringData:\n  other: x\n"
	out, err := maskSecretParams(def, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Source: x\napiVersion: batch/v1", "name: shared\ndata:\n  file-0: eA==", "param-TOKEN: <secret>", "param-TARGET: djE="} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "aHVudGVyMg==") {
		t.Errorf("secret left:\n%s", out)
	}
}
