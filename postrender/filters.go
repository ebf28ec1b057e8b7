package postrender

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// tracker counts the edits the filters make to one document, so that an
// unchanged document can be written back byte for byte.
type tracker struct{ edits int }

func (t *tracker) touched() {
	if t != nil {
		t.edits++
	}
}

// annotationFilter sets metadata.annotations[Key] = Value on the object it
// is applied to, creating metadata and annotations as needed. A value that is
// already present (and not null) is kept unless Override is set.
type annotationFilter struct {
	Key, Value string
	Override   bool
	track      *tracker
}

var _ yaml.Filter = annotationFilter{}

func (f annotationFilter) Filter(rn *yaml.RNode) (*yaml.RNode, error) {
	if _, err := lookupMap(rn, yaml.MetadataField, yaml.AnnotationsField); err != nil {
		return nil, err
	}
	cur, err := rn.Pipe(yaml.GetAnnotation(f.Key))
	if err != nil {
		return nil, err
	}
	if !yaml.IsMissingOrNull(cur) && (!f.Override || isString(cur, f.Value)) {
		return rn, nil
	}
	if err := rn.PipeE(yaml.SetAnnotation(f.Key, f.Value)); err != nil {
		return nil, err
	}
	f.track.touched()
	return rn, nil
}

// ttlFilter sets ttlSecondsAfterFinished in the JobSpec at SpecPath and
// records the TTL in the TTLAnnotation of the object at MetaPath (the object
// itself when MetaPath is empty). A TTL that is already present (and not
// null) is kept, annotation included, unless Override is set.
type ttlFilter struct {
	TTL      time.Duration
	Override bool
	SpecPath []string
	MetaPath []string
	track    *tracker
}

var _ yaml.Filter = ttlFilter{}

func (f ttlFilter) Filter(rn *yaml.RNode) (*yaml.RNode, error) {
	spec, err := lookupMap(rn, f.SpecPath...)
	if err != nil {
		return nil, err
	}
	var cur *yaml.RNode
	if spec != nil {
		if cur, err = spec.Pipe(yaml.Lookup(ttlField)); err != nil {
			return nil, err
		}
	}
	if !yaml.IsMissingOrNull(cur) && !f.Override {
		return rn, nil
	}
	secs := strconv.FormatInt(int64(f.TTL/time.Second), 10)
	if yaml.IsMissingOrNull(cur) || cur.YNode().Value != secs || cur.YNode().Tag != yaml.NodeTagInt {
		spec, err := ensureMap(rn, f.SpecPath...)
		if err != nil {
			return nil, err
		}
		value := yaml.NewRNode(&yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagInt, Value: secs})
		set := yaml.FieldSetter{Name: ttlField, Value: value, OverrideStyle: true}
		if err := spec.PipeE(set); err != nil {
			return nil, err
		}
		f.track.touched()
	}
	meta, err := ensureMap(rn, f.MetaPath...)
	if err != nil {
		return nil, err
	}
	note := annotationFilter{Key: TTLAnnotation, Value: f.TTL.String(), Override: true, track: f.track}
	if err := meta.PipeE(note); err != nil {
		return nil, pathError(f.MetaPath, err)
	}
	return rn, nil
}

// lookupMap returns the mapping at path below rn, or nil if a step of the
// path is missing or null. A step that is present but not a mapping is a
// shapeError, so that the setters neither fail with a node dump nor silently
// replace a scalar by a mapping.
func lookupMap(rn *yaml.RNode, path ...string) (*yaml.RNode, error) {
	cur := rn
	for i, name := range path {
		f := cur.Field(name)
		if f == nil || yaml.IsMissingOrNull(f.Value) {
			return nil, nil
		}
		if err := wantMapping(f.Value, path[:i+1]); err != nil {
			return nil, err
		}
		cur = f.Value
	}
	return cur, nil
}

// ensureMap returns the mapping at path below rn, turning missing or null
// steps into empty mappings. (kyaml's LookupCreate would return a detached
// mapping for a null field.) A step that is not a mapping is a shapeError.
func ensureMap(rn *yaml.RNode, path ...string) (*yaml.RNode, error) {
	cur := rn
	for i, name := range path {
		if f := cur.Field(name); f != nil && !yaml.IsMissingOrNull(f.Value) {
			if err := wantMapping(f.Value, path[:i+1]); err != nil {
				return nil, err
			}
			cur = f.Value
			continue
		}
		created, err := cur.Pipe(yaml.SetField(name, yaml.NewMapRNode(nil)))
		if err != nil {
			return nil, err
		}
		cur = created
	}
	return cur, nil
}

// wantMapping returns a shapeError unless rn, found at path, is a mapping.
func wantMapping(rn *yaml.RNode, path []string) error {
	if k := rn.YNode().Kind; k != yaml.MappingNode {
		return &shapeError{Path: strings.Join(path, "."), Line: rn.YNode().Line, Got: k, Want: yaml.MappingNode}
	}
	return nil
}

// pathError prefixes the path of a shapeError found below path.
func pathError(path []string, err error) error {
	var se *shapeError
	if !errors.As(err, &se) || len(path) == 0 {
		return err
	}
	return &shapeError{Path: strings.Join(path, ".") + "." + se.Path, Line: se.Line, Got: se.Got, Want: se.Want}
}

// isString reports whether rn is a scalar holding want.
func isString(rn *yaml.RNode, want string) bool {
	n := rn.YNode()
	return n.Kind == yaml.ScalarNode && n.Value == want
}
