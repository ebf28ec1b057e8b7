package postrender

import (
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// avoidEncoderBugs rewrites the few nodes that the yaml.v3 encoder would not
// write back faithfully, without changing their meaning:
//   - an empty null mapping key ("? " or "&a :"), or an empty null value in
//     flow style ("{a: }"), would come out as a quoted empty string, so it
//     is spelled "null";
//   - a folded block scalar (">") holding line breaks loses or gains line
//     breaks around more-indented lines and trailing newlines, so it becomes
//     a literal block scalar ("|").
func avoidEncoderBugs(n *yaml.Node, inFlow bool) {
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		inFlow = inFlow || n.Style&yaml.FlowStyle != 0
		for i, c := range n.Content {
			isKey := n.Kind == yaml.MappingNode && i%2 == 0
			if (isKey || inFlow) && isEmptyNull(c) {
				c.Value = "null"
			}
		}
	case yaml.ScalarNode:
		if n.Style&yaml.FoldedStyle != 0 && strings.Contains(n.Value, "\n") {
			n.Style = n.Style&^yaml.FoldedStyle | yaml.LiteralStyle
		}
	}
	for _, c := range n.Content {
		avoidEncoderBugs(c, inFlow)
	}
}

func isEmptyNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == yaml.NodeTagNull && n.Value == ""
}

// duplicateKeyError reports a mapping key given twice. Kubernetes rejects
// such objects and the setters could change either copy.
type duplicateKeyError struct {
	Key         string
	Line, First int
}

func (e *duplicateKeyError) Error() string {
	return fmt.Sprintf("mapping key %q already defined at line %d", e.Key, e.First)
}

func (e *duplicateKeyError) lineInBody() int { return e.Line }

// checkDuplicateKeys returns a duplicateKeyError for the first scalar key that
// a mapping below n repeats.
func checkDuplicateKeys(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode && len(n.Content) > 2 {
		if err := duplicateKey(n.Content); err != nil {
			return err
		}
	}
	for _, c := range n.Content {
		if err := checkDuplicateKeys(c); err != nil {
			return err
		}
	}
	return nil
}

type keyID struct{ tag, value string }

func duplicateKey(content []*yaml.Node) error {
	seen := map[keyID]*yaml.Node{}
	for i := 0; i < len(content); i += 2 {
		k := content[i]
		if k.Kind != yaml.ScalarNode {
			continue
		}
		id := keyID{k.Tag, k.Value}
		if first, ok := seen[id]; ok {
			return &duplicateKeyError{Key: k.Value, Line: k.Line, First: first.Line}
		}
		seen[id] = k
	}
	return nil
}
