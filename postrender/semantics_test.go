package postrender

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// checkSemantics decodes both streams document by document, with yaml.v3 and
// as Kubernetes does (checkKubernetesSemantics), and checks that they are
// equal once the values Process may add to Jobs and CronJobs are removed
// from both. Inputs that do not decode as a whole (possible, since the fast
// path does not parse every document) are not checked. yaml.v3 resolves
// merge keys otherwise than Kubernetes, which Process follows, so input with
// merge keys is only compared as Kubernetes reads it.
func checkSemantics(t testing.TB, in, out []byte, opts Options) {
	t.Helper()
	checkKubernetesSemantics(t, in, out)
	if hasMergeKeys(in) {
		return
	}
	inDocs, err := decodeAll(in)
	if err != nil {
		return
	}
	outDocs, err := decodeAll(out)
	if err != nil {
		t.Fatalf("output does not decode: %v\n%s", err, out)
	}
	if len(inDocs) != len(outDocs) {
		t.Fatalf("input has %d documents, output %d\n%s", len(inDocs), len(outDocs), out)
	}
	for i := range inDocs {
		if hasNonStringKeys(inDocs[i]) {
			// Not a Kubernetes object; yaml.v3 and kyaml also disagree on
			// merging such maps.
			continue
		}
		want, got := canonical(t, normalize(inDocs[i], "", "")), canonical(t, normalize(outDocs[i], "", ""))
		if want != got {
			t.Errorf("document %d changed beyond the policy:\n--- in ---\n%s--- out ---\n%s", i+1, want, got)
		}
	}
}

func decodeAll(b []byte) ([]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, v)
	}
}

func canonical(t testing.TB, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

// normalize removes what the policy may set from Jobs and CronJobs, also
// inside lists, and the maps the setters may have created on the way. As
// Kubernetes' unstructured decoder does, any map with an "items" field is a
// list, and an item without apiVersion and kind strings takes the list's
// apiVersion and its kind without "List" (given as listAPIVersion and
// itemKind).
func normalize(v any, listAPIVersion, itemKind string) any {
	m, ok := stringKeys(v).(map[string]any)
	if !ok {
		return v
	}
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	if apiVersion == "" && kind == "" {
		apiVersion, kind = listAPIVersion, itemKind
	}
	if items, ok := m["items"]; ok {
		if items, ok := items.([]any); ok {
			for i := range items {
				items[i] = normalize(items[i], apiVersion, strings.TrimSuffix(kind, "List"))
			}
		}
		return m
	}
	switch {
	case apiVersion == batchV1 && kind == "Job":
		dropAnnotations(m, ResourcePolicyAnnotation, TTLAnnotation)
		dropKey(m, "spec", ttlField)
	case apiVersion == batchV1 && kind == "CronJob":
		if spec, ok := m["spec"].(map[string]any); ok {
			if tmpl, ok := spec["jobTemplate"].(map[string]any); ok {
				dropAnnotations(tmpl, TTLAnnotation)
				dropKey(tmpl, "spec", ttlField)
			}
			pruneEmpty(spec, "jobTemplate")
		}
		pruneEmpty(m, "spec")
	}
	return m
}

func hasNonStringKeys(v any) bool {
	switch v := v.(type) {
	case map[any]any:
		return true
	case map[string]any:
		for _, e := range v {
			if hasNonStringKeys(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasNonStringKeys(e) {
				return true
			}
		}
	}
	return false
}

// stringKeys turns the maps with non-string keys that yaml.v3 decodes into
// map[any]any into map[string]any, so that normalize sees every mapping.
func stringKeys(v any) any {
	switch v := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			key, ok := k.(string)
			if !ok {
				key = fmt.Sprintf("%T:%v", k, k)
			}
			m[key] = stringKeys(e)
		}
		return m
	case map[string]any:
		for k, e := range v {
			v[k] = stringKeys(e)
		}
	case []any:
		for i, e := range v {
			v[i] = stringKeys(e)
		}
	}
	return v
}

func dropAnnotations(obj map[string]any, keys ...string) {
	if meta, ok := obj["metadata"].(map[string]any); ok {
		for _, k := range keys {
			dropKey(meta, "annotations", k)
		}
	}
	pruneEmpty(obj, "metadata")
}

// dropKey deletes obj[field][key] and then obj[field] if it is left empty.
func dropKey(obj map[string]any, field, key string) {
	if inner, ok := obj[field].(map[string]any); ok {
		delete(inner, key)
	}
	pruneEmpty(obj, field)
}

func pruneEmpty(obj map[string]any, field string) {
	v, present := obj[field]
	if !present {
		return
	}
	if inner, ok := v.(map[string]any); v == nil || ok && len(inner) == 0 {
		delete(obj, field)
	}
}
