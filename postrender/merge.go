package postrender

import "sigs.k8s.io/kustomize/kyaml/yaml"

// Merge keys ("<<") are resolved the way Kubernetes reads manifests: Helm
// and kubectl decode YAML with sigs.k8s.io/yaml, that is goyaml.v2 (YAML
// 1.1), which sets the entries of a mapping in the order they are written,
// a merge key setting every entry of the merged mapping. So a later entry
// overrides an earlier one with the same key, whether either of them is
// written out or merged ({a: x, <<: {a: y}} has a: y, {<<: {a: y}, a: x}
// has a: x), and of a sequence of merged mappings the earlier ones win.
// (yaml.v3 and kyaml let written-out entries win wherever they are.)

// mergedMap is a mapping being resolved.
type mergedMap struct {
	content []*yaml.Node
	index   map[keyID]mergedSlot
}

type mergedSlot struct {
	at      int  // offset of the key in content
	written bool // the value was written out in this mapping, not merged
}

// set adds the entry k: v, replacing the value of an earlier entry with the
// same key. Two written-out entries with the same key are both kept, so that
// the duplicate key is reported if the document is changed.
func (m *mergedMap) set(k, v *yaml.Node, written bool) {
	if k.Kind != yaml.ScalarNode {
		m.content = append(m.content, k, v)
		return
	}
	id := keyID{k.Tag, k.Value}
	if s, ok := m.index[id]; ok && !(written && s.written) {
		if written {
			m.content[s.at] = k // the key as written, with its comments
		}
		m.content[s.at+1] = v
		m.index[id] = mergedSlot{at: s.at, written: s.written || written}
		return
	}
	m.index[id] = mergedSlot{at: len(m.content), written: written}
	m.content = append(m.content, k, v)
}

// merged copies the mapping n, which has merge keys, with the merges
// resolved.
func (e *expander) merged(n *yaml.Node) (*yaml.Node, error) {
	m := mergedMap{index: map[keyID]mergedSlot{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMergeKey(k) {
			if err := e.merge(&m, v); err != nil {
				return nil, err
			}
			continue
		}
		kc, err := e.node(k)
		if err != nil {
			return nil, err
		}
		vc, err := e.node(v)
		if err != nil {
			return nil, err
		}
		m.set(kc, vc, true)
	}
	c := *n
	c.Anchor = ""
	c.Content = m.content
	return &c, nil
}

// merge sets the entries of the value v of a merge key in m.
func (e *expander) merge(m *mergedMap, v *yaml.Node) error {
	if v.Kind != yaml.SequenceNode {
		return e.mergeMapping(m, v)
	}
	for i := len(v.Content) - 1; i >= 0; i-- {
		if err := e.mergeMapping(m, v.Content[i]); err != nil {
			return err
		}
	}
	return nil
}

// mergeMapping sets the entries of src, a mapping or an alias of one, in m.
func (e *expander) mergeMapping(m *mergedMap, src *yaml.Node) error {
	target := src
	if src.Kind == yaml.AliasNode {
		target = src.Alias
	}
	if target == nil || target.Kind != yaml.MappingNode {
		return &aliasError{Line: src.Line, Err: errMergeValue}
	}
	c, err := e.node(target)
	if err != nil {
		return err
	}
	for i := 0; i+1 < len(c.Content); i += 2 {
		m.set(c.Content[i], c.Content[i+1], false)
	}
	return nil
}
