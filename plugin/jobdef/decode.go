package jobdef

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Decode reads the typed form that `get -o yaml|json` prints: YAML or JSON,
// one or more documents separated by "---", each a Job or a JobList.
// Decoding is strict: unknown or duplicate fields, field names in the wrong
// case, and any other apiVersion or kind are errors. Fields the server sets
// (uid, resourceVersion, creationTimestamp, ...) and status are dropped;
// metadata the store does not keep (annotations, finalizers, owners) is an
// error rather than silently lost. Errors are one line; with several
// documents they name the document ("document 2: ...").
func Decode(r io.Reader) ([]Job, error) {
	docs, err := splitDocuments(r)
	if err != nil {
		return nil, err
	}
	var jobs []Job
	for i, doc := range docs {
		got, err := decodeDocument(doc)
		if err != nil {
			if len(docs) > 1 {
				return nil, fmt.Errorf("document %d: %w", i+1, err)
			}
			return nil, err
		}
		jobs = append(jobs, got...)
	}
	return jobs, nil
}

func splitDocuments(r io.Reader) ([][]byte, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read YAML: %w", err)
		}
		docs = append(docs, doc)
	}
}

func decodeDocument(doc []byte) ([]Job, error) {
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return nil, nil // an empty document, e.g. only comments
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(data, &tm); err != nil {
		return nil, fmt.Errorf("not a job definition: %w", err)
	}
	if err := checkType(tm); err != nil {
		return nil, err
	}
	if tm.Kind == ListKind {
		var l List
		if err := strict(data, &l); err != nil {
			return nil, err
		}
		for i := range l.Items {
			if err := checkType(l.Items[i].TypeMeta); err != nil {
				return nil, fmt.Errorf("items[%d]: %w", i, err)
			}
			if err := l.Items[i].clearServerFields(); err != nil {
				return nil, fmt.Errorf("items[%d]: %w", i, err)
			}
		}
		return l.Items, nil
	}
	var j Job
	if err := strict(data, &j); err != nil {
		return nil, err
	}
	if err := j.clearServerFields(); err != nil {
		return nil, err
	}
	return []Job{j}, nil
}

func checkType(tm metav1.TypeMeta) error {
	want := fmt.Sprintf("want apiVersion: %s and kind: %s", APIVersion, Kind)
	switch {
	case tm.APIVersion == "" || tm.Kind == "":
		return fmt.Errorf("apiVersion and kind are required: %s", want)
	case tm.Kind != Kind && tm.Kind != ListKind:
		return fmt.Errorf("unsupported kind %q (apiVersion %s): %s", tm.Kind, tm.APIVersion, want)
	case tm.APIVersion != APIVersion:
		return fmt.Errorf("unsupported apiVersion %q for kind %s: %s", tm.APIVersion, tm.Kind, want)
	}
	return nil
}

func strict(data []byte, v any) error {
	strictErrs, err := kjson.UnmarshalStrict(data, v, kjson.DisallowUnknownFields, kjson.DisallowDuplicateFields)
	if err != nil {
		return fmt.Errorf("invalid job definition: %w", err)
	}
	if len(strictErrs) > 0 {
		return fmt.Errorf("invalid job definition: %w", strictErrs[0])
	}
	return nil
}

// clearServerFields drops what the server sets and rejects metadata that
// the store would not keep.
func (j *Job) clearServerFields() error {
	m := &j.ObjectMeta
	switch {
	case len(m.Annotations) > 0:
		return errors.New("metadata.annotations are not supported on jobs: use labels or spec.description")
	case len(m.Finalizers) > 0:
		return errors.New("metadata.finalizers are not supported on jobs")
	case len(m.OwnerReferences) > 0:
		return errors.New("metadata.ownerReferences are not supported on jobs")
	case m.GenerateName != "":
		return errors.New("metadata.generateName is not supported on jobs: give metadata.name")
	}
	j.Status = nil
	*m = metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, Labels: m.Labels}
	return nil
}
