package postrender

import (
	"context"
	"errors"
	"fmt"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// The alias budget ("billion laughs" protection): over the whole stream, the
// parsed documents may hold, with their aliases expanded, at most
// aliasRatio times as many nodes as they hold as written, and always at
// least minAliasBudget nodes.
const (
	aliasRatio     = 10
	minAliasBudget = 1 << 16
	// ctxCheckEvery is how many nodes the expansion copies between two
	// looks at the context.
	ctxCheckEvery = 1 << 12
)

var (
	errAliasCycle = errors.New("alias refers to a node that contains it")
	errMergeValue = errors.New(`merge key "<<" needs a mapping, an alias of one, or a sequence of them as its value`)
)

// aliasError reports an alias problem at a line of the decoded body.
type aliasError struct {
	Line int
	Err  error
}

func (e *aliasError) Error() string   { return e.Err.Error() }
func (e *aliasError) Unwrap() error   { return e.Err }
func (e *aliasError) lineInBody() int { return e.Line }

// stream is the state Process keeps across the documents of one stream: the
// context it honours and the alias budget spent so far.
type stream struct {
	ctx      context.Context
	parsed   int // nodes of the parsed documents, as written
	expanded int // nodes of the parsed documents, aliases expanded
}

// limit is the number of expanded nodes the stream may hold so far.
func (s *stream) limit() int { return max(minAliasBudget, aliasRatio*s.parsed) }

// expandAliases returns the document below root with its aliases replaced by
// copies of what they refer to and its merge keys ("<<") resolved, so that a
// kind, a metadata map or a List item reached through an alias is seen, and
// changed, the way Kubernetes sees it. Merge keys resolve as Kubernetes'
// YAML decoder (sigs.k8s.io/yaml, goyaml.v2) resolves them: the mapping's
// entries apply in order, each overriding what came before, whether it was
// written out or merged, and within a sequence of merged mappings the earlier
// ones win. A document without aliases and merge keys is returned as it is.
// Alias cycles and expansions beyond the stream's budget are errors.
func (s *stream) expandAliases(root *yaml.Node) (*yaml.Node, error) {
	nodes, aliases := countNodes(root)
	s.parsed += nodes
	if !aliases {
		s.expanded += nodes
		return root, nil
	}
	w := aliasWalk{sizes: map[*yaml.Node]int{}, active: map[*yaml.Node]bool{}, limit: s.limit() - s.expanded}
	size, err := w.size(root)
	if err != nil {
		return nil, err
	}
	s.expanded += size
	e := expander{ctx: s.ctx}
	return e.node(root)
}

// countNodes returns the number of nodes below n, n included, and whether
// they hold an alias or a merge key.
func countNodes(n *yaml.Node) (int, bool) {
	count, aliases := 1, n.Kind == yaml.AliasNode || n.Tag == yaml.MergeTag
	for _, c := range n.Content {
		cn, ca := countNodes(c)
		count, aliases = count+cn, aliases || ca
	}
	return count, aliases
}

// aliasWalk computes the size of a tree with its aliases expanded, up to
// limit nodes. It is an upper bound of what the expander copies.
type aliasWalk struct {
	sizes  map[*yaml.Node]int
	active map[*yaml.Node]bool
	limit  int
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
		if total += s; total > w.limit {
			return 0, &aliasError{Line: n.Line, Err: fmt.Errorf(
				"aliases expand the input to too many nodes (the limit is %d times its nodes, at least %d)",
				aliasRatio, minAliasBudget)}
		}
	}
	w.active[n] = false
	w.sizes[n] = total
	return total, nil
}

// expander copies a tree, expanding aliases and resolving merge keys.
type expander struct {
	ctx    context.Context
	copied int
}

func (e *expander) node(n *yaml.Node) (*yaml.Node, error) {
	if e.copied++; e.copied%ctxCheckEvery == 0 {
		if err := e.ctx.Err(); err != nil {
			return nil, err
		}
	}
	if n.Kind == yaml.AliasNode {
		c, err := e.node(n.Alias)
		if err == nil {
			keepComments(c, n)
		}
		return c, err
	}
	if n.Kind == yaml.MappingNode && hasMergeKey(n) {
		return e.merged(n)
	}
	c := *n
	c.Anchor = ""
	if n.Content != nil {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, child := range n.Content {
			var err error
			if c.Content[i], err = e.node(child); err != nil {
				return nil, err
			}
		}
	}
	return &c, nil
}

// keepComments moves the comments written at an alias to its expansion.
func keepComments(dst, alias *yaml.Node) {
	if alias.HeadComment != "" {
		dst.HeadComment = alias.HeadComment
	}
	if alias.LineComment != "" {
		dst.LineComment = alias.LineComment
	}
	if alias.FootComment != "" {
		dst.FootComment = alias.FootComment
	}
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Tag == yaml.MergeTag
}

func hasMergeKey(n *yaml.Node) bool {
	for i := 0; i < len(n.Content); i += 2 {
		if isMergeKey(n.Content[i]) {
			return true
		}
	}
	return false
}
