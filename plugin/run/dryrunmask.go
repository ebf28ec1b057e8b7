package run

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// maskSecretParams returns the dry-run output manifest with the values of
// def's secret parameters masked in every Secret it holds, whatever that
// Secret is named: each key SecretParamKey(NAME) of a secret
// parameter moves from data to stringData as jobdef.SecretValue. Other
// documents are kept byte for byte.
func maskSecretParams(def *jobdef.Job, manifest string) (string, error) {
	secretKeys := map[string]bool{}
	for _, p := range def.Spec.Parameters {
		if p.Secret {
			secretKeys[SecretParamKey(p.Name)] = true
		}
	}
	if len(secretKeys) == 0 {
		return manifest, nil
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	var docs []string
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read dry-run manifest: %w", err)
		}
		masked, err := maskSecretDoc(doc, secretKeys)
		if err != nil {
			return "", err
		}
		if s := strings.TrimSpace(strings.TrimPrefix(string(masked), "---")); s != "" {
			docs = append(docs, s+"\n")
		}
	}
	out := strings.Join(docs, "---\n")
	if strings.HasPrefix(manifest, "---") {
		out = "---\n" + out
	}
	return out, nil
}

// maskSecretDoc masks one document if it is a Secret.
func maskSecretDoc(doc []byte, secretKeys map[string]bool) ([]byte, error) {
	var meta struct{ APIVersion, Kind string }
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		return nil, fmt.Errorf("decode dry-run manifest: %w", err)
	}
	if meta.Kind != "Secret" || meta.APIVersion != "v1" {
		return doc, nil
	}
	var s corev1.Secret
	if err := yaml.Unmarshal(doc, &s); err != nil {
		return nil, fmt.Errorf("decode Secret of dry-run manifest: %w", err)
	}
	changed := false
	for k := range s.Data {
		if secretKeys[k] {
			delete(s.Data, k)
			if s.StringData == nil {
				s.StringData = map[string]string{}
			}
			s.StringData[k] = jobdef.SecretValue
			changed = true
		}
	}
	for k := range s.StringData {
		if secretKeys[k] && s.StringData[k] != jobdef.SecretValue {
			s.StringData[k], changed = jobdef.SecretValue, true
		}
	}
	if !changed {
		return doc, nil
	}
	out, err := yaml.Marshal(&s)
	if err != nil {
		return nil, fmt.Errorf("encode masked Secret: %w", err)
	}
	return bytes.TrimSpace(out), nil
}
