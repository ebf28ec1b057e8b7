package postrender

import (
	"fmt"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Kinds the policy acts on, by apiVersion and kind.
const (
	batchV1 = "batch/v1"
	coreV1  = "v1"

	specField = "spec"
)

// jobPolicy is a kio.Filter applying Options to the resources it is given:
// batch/v1 Jobs get the keep annotation and the TTL, batch/v1 CronJobs (with
// Options.CronJobs) the TTL in their job template, and the items of a v1 List
// are handled like top-level resources, Lists in Lists included. Everything
// else is left alone.
type jobPolicy struct {
	opts  Options
	track *tracker
}

var _ kio.Filter = jobPolicy{}

func (p jobPolicy) Filter(nodes []*yaml.RNode) ([]*yaml.RNode, error) {
	for _, rn := range nodes {
		if err := p.apply(rn); err != nil {
			return nil, err
		}
	}
	return nodes, nil
}

func (p jobPolicy) apply(rn *yaml.RNode) error {
	if rn.YNode().Kind != yaml.MappingNode {
		return nil
	}
	apiVersion, kind := scalar(rn, yaml.APIVersionField), scalar(rn, yaml.KindField)
	switch {
	case apiVersion == batchV1 && kind == "Job":
		return rn.PipeE(p.jobFilters()...)
	case apiVersion == batchV1 && kind == "CronJob":
		return rn.PipeE(p.cronJobFilters()...)
	case apiVersion == coreV1 && kind == "List":
		return p.items(rn)
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

// items applies the policy to each element of a List's items.
func (p jobPolicy) items(list *yaml.RNode) error {
	items, err := list.Pipe(yaml.Lookup("items"))
	if err != nil || yaml.IsMissingOrNull(items) {
		return err
	}
	if k := items.YNode().Kind; k != yaml.SequenceNode {
		return &shapeError{Path: "items", Line: items.YNode().Line, Got: k, Want: yaml.SequenceNode}
	}
	for i, item := range items.Content() {
		if err := p.apply(yaml.NewRNode(item)); err != nil {
			return fmt.Errorf("items[%d]: %w", i, err)
		}
	}
	return nil
}
