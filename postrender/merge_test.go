package postrender

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMergeKeysKeepKubernetesMeaning: a changed document means to
// Kubernetes' YAML decoder (sigs.k8s.io/yaml, goyaml.v2) what the input
// meant, merge keys included, and the policy sees the kind Kubernetes sees
// (security review L4).
func TestMergeKeysKeepKubernetesMeaning(t *testing.T) {
	const job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n"
	cases := map[string]struct {
		in   string
		jobs []string // the Jobs Kubernetes reads from the output
	}{
		"merge after an explicit key wins (the review's case)": {
			job + "  labels: {a: explicit, <<: {a: merged, b: merged}}\n", []string{"j"}},
		"explicit key after a merge wins": {
			job + "  labels: {<<: {a: merged, b: merged}, a: explicit}\n", []string{"j"}},
		"earlier mappings of a merged sequence win": {
			job + "  labels: {<<: [{a: first}, {a: second, c: second}], a: explicit}\n", []string{"j"}},
		"a merged sequence overrides the keys before it": {
			job + "  labels: {a: explicit, <<: [{a: first}, {a: second, c: second}]}\n", []string{"j"}},
		"two merge keys: the later wins": {
			job + "  labels: {<<: {a: m1, b: m1}, <<: {a: m2}}\n", []string{"j"}},
		"anchored mappings": {
			"base: &b {a: base, b: base}\n" + job + "  labels:\n    a: explicit\n    <<: *b\n  annotations:\n    <<: *b\n    b: explicit\n", []string{"j"}},
		"merge inside a merged mapping": {
			job + "  labels: {x: explicit, <<: {<<: {x: inner, y: inner}, y: outer}}\n", []string{"j"}},
		"kind from a merge after it": {
			"apiVersion: batch/v1\nkind: ConfigMap\n<<: {kind: Job}\nmetadata: {name: merged-kind}\n", []string{"merged-kind"}},
		"kind before a merge of another": {
			"<<: {apiVersion: batch/v1, kind: ConfigMap}\napiVersion: batch/v1\nkind: Job\nmetadata: {name: explicit-kind}\n", []string{"explicit-kind"}},
		"a ConfigMap by merge stays one": {
			"apiVersion: batch/v1\nkind: Job\n<<: {kind: ConfigMap}\nmetadata: {name: cm}\n", nil},
		"merged spec replaces the written one": {
			job + "spec: {ttlSecondsAfterFinished: 5, backoffLimit: 1}\n<<: {spec: {backoffLimit: 2}}\n", []string{"j"}},
		"in a list item": {
			"apiVersion: v1\nkind: List\nitems:\n- apiVersion: batch/v1\n  kind: Job\n  metadata: {name: i, labels: {a: explicit, <<: {a: merged}}}\n", []string{"i"}},
	}
	ttl := time.Hour
	opts := Options{Keep: true, TTL: &ttl}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := Process([]byte(tc.in), opts)
			if err != nil {
				t.Fatal(err)
			}
			checkKubernetesSemantics(t, []byte(tc.in), out)
			if got := jobsWithPolicy(t, out, 3600); !slices.Equal(got, tc.jobs) {
				t.Errorf("jobs %v, want %v\n%s", got, tc.jobs, out)
			}
			if strings.Contains(string(out), "<<") && len(tc.jobs) > 0 {
				t.Errorf("merge key left in a changed document:\n%s", out)
			}
		})
	}
}

// TestMergeKeyErrors: merge values Kubernetes cannot merge are one-line
// errors in documents that are parsed.
func TestMergeKeyErrors(t *testing.T) {
	for name, in := range map[string]string{
		"scalar":               "apiVersion: batch/v1\nkind: Job\n<<: x\n",
		"sequence of scalars":  "apiVersion: batch/v1\nkind: Job\n<<: [x]\n",
		"alias of a sequence":  "s: &s [a]\napiVersion: batch/v1\nkind: Job\n<<: *s\n",
		"alias of a scalar":    "s: &s a\napiVersion: batch/v1\nkind: Job\nmetadata: {<<: *s}\n",
		"in a list's own item": "apiVersion: v1\nkind: List\nitems:\n- {kind: Job, <<: [[a]]}\n",
	} {
		t.Run(name, func(t *testing.T) {
			out, err := Process([]byte(in), Options{Keep: true})
			if err == nil || out != nil {
				t.Fatalf("got %q, %v; want an error", out, err)
			}
			if msg := err.Error(); !strings.Contains(msg, `merge key "<<"`) || strings.ContainsAny(msg, "\n") {
				t.Errorf("error %q", msg)
			}
		})
	}
}
