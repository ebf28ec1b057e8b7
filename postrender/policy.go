package postrender

import (
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Kinds the policy acts on, by apiVersion and kind.
const (
	batchV1 = "batch/v1"

	specField = "spec"
)

// jobPolicy is a kio.Filter applying Options to the resources it is given:
// batch/v1 Jobs get the keep annotation and the TTL, batch/v1 CronJobs (with
// Options.CronJobs) the TTL in their job template, and lists are handled
// item by item, lists in lists included. Everything else is left alone.
type jobPolicy struct {
	opts  Options
	track *tracker
}

var _ kio.Filter = jobPolicy{}

func (p jobPolicy) Filter(nodes []*yaml.RNode) ([]*yaml.RNode, error) {
	for _, rn := range nodes {
		if err := p.apply(rn, "", ""); err != nil {
			return nil, err
		}
	}
	return nodes, nil
}

// apply applies the policy to the object rn. As Kubernetes' unstructured
// decoder (apimachinery's UnstructuredJSONScheme, which Helm's and kubectl's
// resource builder use) does, a mapping with an "items" field is a list,
// whatever its kind, and an item with neither apiVersion nor kind takes the
// list's apiVersion and the list's kind without the "List" suffix, given to
// apply as apiVersion and kind.
func (p jobPolicy) apply(rn *yaml.RNode, listAPIVersion, listItemKind string) error {
	if rn.YNode().Kind != yaml.MappingNode {
		return nil
	}
	apiVersion, kind := stringField(rn, yaml.APIVersionField), stringField(rn, yaml.KindField)
	if apiVersion == "" && kind == "" {
		apiVersion, kind = listAPIVersion, listItemKind
	}
	if items := rn.Field("items"); items != nil {
		return p.items(items.Value, apiVersion, strings.TrimSuffix(kind, "List"))
	}
	switch {
	case apiVersion == batchV1 && kind == "Job":
		return rn.PipeE(p.jobFilters()...)
	case apiVersion == batchV1 && kind == "CronJob":
		return rn.PipeE(p.cronJobFilters()...)
	}
	return nil
}

func (p jobPolicy) jobFilters() []yaml.Filter {
	var fs []yaml.Filter
	if p.opts.Keep {
		fs = append(fs, annotationFilter{
			Key: ResourcePolicyAnnotation, Value: ResourcePolicyKeep,
			Override: p.opts.Override, track: p.track,
		})
	}
	if p.opts.TTL != nil {
		fs = append(fs, ttlFilter{
			TTL: *p.opts.TTL, Override: p.opts.Override,
			SpecPath: []string{specField}, track: p.track,
		})
	}
	return fs
}

func (p jobPolicy) cronJobFilters() []yaml.Filter {
	if !p.opts.CronJobs || p.opts.TTL == nil {
		return nil
	}
	return []yaml.Filter{ttlFilter{
		TTL: *p.opts.TTL, Override: p.opts.Override,
		SpecPath: []string{specField, "jobTemplate", specField},
		MetaPath: []string{specField, "jobTemplate"},
		track:    p.track,
	}}
}

// items applies the policy to each element of a list's items. Null items
// are an empty list.
func (p jobPolicy) items(items *yaml.RNode, apiVersion, itemKind string) error {
	if yaml.IsMissingOrNull(items) {
		return nil
	}
	if k := items.YNode().Kind; k != yaml.SequenceNode {
		return &shapeError{Path: "items", Line: items.YNode().Line, Got: k, Want: yaml.SequenceNode}
	}
	for i, item := range items.Content() {
		if err := p.apply(yaml.NewRNode(item), apiVersion, itemKind); err != nil {
			return fmt.Errorf("items[%d]: %w", i, err)
		}
	}
	return nil
}

// stringField returns the string held by the field name of rn as the
// Kubernetes decoder reads it, or "" if the field is missing or is not a
// string: null, a number, a mapping, or a YAML 1.1 boolean such as a plain
// yes or off (goyaml.v2 reads those as booleans, yaml.v3 as strings).
func stringField(rn *yaml.RNode, name string) string {
	f := rn.Field(name)
	if f == nil {
		return ""
	}
	n := f.Value.YNode()
	if n.Kind != yaml.ScalarNode {
		return ""
	}
	switch n.Tag {
	case yaml.NodeTagNull, yaml.NodeTagBool, yaml.NodeTagInt, yaml.NodeTagFloat:
		return ""
	case yaml.NodeTagString:
		if n.Style == 0 && isYAML11Bool(n.Value) {
			return ""
		}
	}
	return n.Value
}

// isYAML11Bool reports whether a plain scalar is a boolean in YAML 1.1 but
// not in YAML 1.2.
func isYAML11Bool(s string) bool {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
		"n", "N", "no", "No", "NO", "off", "Off", "OFF":
		return true
	}
	return false
}
