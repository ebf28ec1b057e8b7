package postrender

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/kyaml/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// checkKubernetesSemantics is checkSemantics with Kubernetes' reading of
// YAML: documents split as kubectl and Helm's resource builder split them
// and decoded with sigs.k8s.io/yaml (goyaml.v2, YAML 1.1) into JSON. This is
// what the cluster gets, so input that decodes must give output that decodes
// to the same objects, once the policy's values are removed. Input without
// merge keys is only checked if yaml.v3 reads it the same way: where the two
// parsers disagree on other things (goyaml.v2 adds a line break to a block
// scalar at the end of input that does not end with one, for one), the check
// would be about the parsers, not about Process.
func checkKubernetesSemantics(t testing.TB, in, out []byte) {
	t.Helper()
	if k8sOnlySeparator.Match(in) {
		return
	}
	inDocs, err := decodeKubernetes(in)
	if err != nil {
		return
	}
	switch merges := hasMergeKeys(in); {
	case !merges && !sameAsYAMLv3(inDocs, in):
		return
	case merges && !bytes.HasSuffix(in, []byte("\n")):
		// Helm ends its output with a line break; without one, goyaml.v2
		// reads a block scalar at the end otherwise than yaml.v3.
		return
	}
	outDocs, err := decodeKubernetes(out)
	if err != nil {
		t.Fatalf("output does not decode as Kubernetes reads YAML: %v\n%s", err, out)
	}
	if len(inDocs) != len(outDocs) {
		t.Fatalf("Kubernetes reads %d documents in the input, %d in the output\n%s", len(inDocs), len(outDocs), out)
	}
	for i := range inDocs {
		want, got := canonicalJSON(t, normalize(inDocs[i], "", "")), canonicalJSON(t, normalize(outDocs[i], "", ""))
		if want != got {
			t.Errorf("document %d means something else to Kubernetes:\n--- in ---\n%s\n--- out ---\n%s", i+1, want, got)
		}
	}
}

// k8sOnlySeparator matches a line such as "---#a: b" that apimachinery's YAML
// reader (and Helm's SplitManifests) take for a document separator, but YAML
// does not: Process splits documents as YAML does, so such input is not
// compared.
var k8sOnlySeparator = regexp.MustCompile(`(?m)^---[^ \t\r\n]`)

// decodeKubernetes splits b with apimachinery's YAML reader and converts each
// document with sigs.k8s.io/yaml.YAMLToJSON.
func decodeKubernetes(b []byte) ([]any, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var docs []any
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		j, err := sigsyaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		var v any
		if err := json.Unmarshal(j, &v); err != nil {
			return nil, err
		}
		docs = append(docs, v)
	}
}

func canonicalJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

// sameAsYAMLv3 reports whether yaml.v3 decodes in to the documents docs.
func sameAsYAMLv3(docs []any, in []byte) bool {
	v3Docs, err := decodeAll(in)
	if err != nil || len(v3Docs) != len(docs) {
		return false
	}
	for i := range docs {
		j, err := json.Marshal(stringKeys(v3Docs[i]))
		if err != nil {
			return false
		}
		var v any
		if err := json.Unmarshal(j, &v); err != nil {
			return false
		}
		a, errA := json.Marshal(v)
		b, errB := json.Marshal(docs[i])
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			return false
		}
	}
	return true
}

// hasMergeKeys reports whether yaml.v3 decodes in and finds a merge key.
func hasMergeKeys(in []byte) bool {
	dec := yaml.NewDecoder(bytes.NewReader(in))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return false
		}
		if containsMergeKey(&doc) {
			return true
		}
	}
}

func containsMergeKey(n *yaml.Node) bool {
	if n.Kind == yaml.MappingNode && hasMergeKey(n) {
		return true
	}
	for _, c := range n.Content {
		if containsMergeKey(c) {
			return true
		}
	}
	return false
}
