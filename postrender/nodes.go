package postrender

import (
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// maxExpandedNodes bounds the number of YAML nodes a document may have once
// its aliases are expanded ("billion laughs" protection).
const maxExpandedNodes = 1 << 20

var errAliasCycle = errors.New("alias refers to a node that contains it")

// aliasError reports an alias problem at a line of the decoded body.
type aliasError struct {
	Line int
	Err  error
}

func (e *aliasError) Error() string   { return e.Err.Error() }
func (e *aliasError) Unwrap() error   { return e.Err }
func (e *aliasError) lineInBody() int { return e.Line }

// expandAliases replaces the aliases and merge keys ("<<") of a document by
// copies of what they refer to (kyaml's DeAnchor), so that a kind, a
// metadata map or a List item reached through an alias is seen, and changed,
// the way Kubernetes sees it. Documents without aliases or merge keys are
// left as they are. Alias cycles and expansions beyond maxExpandedNodes are
// errors.
func expandAliases(rn *yaml.RNode) error {
	if !hasAliases(rn.YNode()) {
		return nil
	}
	w := aliasWalk{sizes: map[*yaml.Node]int{}, active: map[*yaml.Node]bool{}}
	if _, err := w.size(rn.YNode()); err != nil {
		return err
	}
	return rn.DeAnchor()
}

// hasAliases reports whether the tree below n holds an alias or a merge key.
func hasAliases(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	if n.Kind == yaml.AliasNode || n.Tag == yaml.MergeTag {
		return true
	}
	for _, c := range n.Content {
		if hasAliases(c) {
			return true
		}
	}
	return false
}

// aliasWalk computes the size of a tree with its aliases expanded.
type aliasWalk struct {
	sizes  map[*yaml.Node]int
	active map[*yaml.Node]bool
}

func (w *aliasWalk) size(n *yaml.Node) (int, error) {
	if n == nil {
		return 0, nil
	}
	if s, ok := w.sizes[n]; ok {
		return s, nil
	}
	if w.active[n] {
		return 0, &aliasError{Line: n.Line, Err: errAliasCycle}
	}
	w.active[n] = true
	total := 1
	children := n.Content
	if n.Kind == yaml.AliasNode {
		children = []*yaml.Node{n.Alias}
	}
	for _, c := range children {
		s, err := w.size(c)
		if err != nil {
			return 0, err
		}
		if total += s; total > maxExpandedNodes {
			return 0, &aliasError{Line: n.Line, Err: fmt.Errorf("aliases expand to more than %d nodes", maxExpandedNodes)}
		}
	}
	w.active[n] = false
	w.sizes[n] = total
	return total, nil
}

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
