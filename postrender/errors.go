package postrender

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// ErrEmptyInput is returned for input without YAML content unless
// Options.AllowEmpty is set.
var ErrEmptyInput = errors.New("postrender: input holds no YAML documents " +
	"(only whitespace, comments or document markers); refusing to " +
	"produce an empty manifest, which Helm would apply as \"delete every resource\"")

// ErrUnsupportedEncoding is returned for UTF-16 and UTF-32 input.
var ErrUnsupportedEncoding = errors.New("postrender: input is not UTF-8")

// DocumentError reports a problem in one document of the input stream. Its
// message is a single line naming the document and the line.
type DocumentError struct {
	Document int    // 1-based number of the document in the stream
	Line     int    // 1-based line in the whole input
	Reason   string // what is wrong, one line
	Err      error  // the underlying error
}

func (e *DocumentError) Error() string {
	return fmt.Sprintf("postrender: document %d, line %d: %s", e.Document, e.Line, e.Reason)
}

func (e *DocumentError) Unwrap() error { return e.Err }

// shapeError reports a field of an unexpected YAML kind, such as
// metadata.annotations being a list. Line is relative to the decoded body.
type shapeError struct {
	Path string
	Line int
	Got  yaml.Kind
	Want yaml.Kind
}

func (e *shapeError) lineInBody() int { return e.Line }

// lineError is an error that knows its line in the decoded body.
type lineError interface{ lineInBody() int }

func (e *shapeError) Error() string {
	return fmt.Sprintf("%s is %s, want %s", e.Path, kindName(e.Got), kindName(e.Want))
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return "a scalar"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	return "of kind " + strconv.Itoa(int(k))
}

// docError builds the DocumentError for err, met while handling the document
// numbered doc whose body starts at input line bodyLine. Line numbers that
// the YAML parser or a shapeError give relative to the body are made
// absolute.
func docError(doc, bodyLine int, err error) *DocumentError {
	de := &DocumentError{Document: doc, Line: bodyLine, Err: err}
	msg := err.Error()
	var le lineError
	if errors.As(err, &le) && le.lineInBody() > 0 {
		de.Line = bodyLine + le.lineInBody() - 1
	}
	if rest, ok := strings.CutPrefix(msg, "yaml: "); ok {
		msg = rest
		if n, tail, ok := cutLine(rest); ok {
			de.Line = bodyLine + n - 1
			msg = tail
		}
		msg = "malformed YAML: " + msg
	}
	de.Reason = oneLine(msg)
	return de
}

// cutLine splits "line N: rest" into N and rest.
func cutLine(s string) (int, string, bool) {
	rest, ok := strings.CutPrefix(s, "line ")
	if !ok {
		return 0, s, false
	}
	num, tail, ok := strings.Cut(rest, ": ")
	if !ok {
		return 0, s, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 {
		return 0, s, false
	}
	return n, tail, true
}

// oneLine keeps the first line of msg; kyaml appends node dumps after a
// line break.
func oneLine(msg string) string {
	msg = strings.TrimSpace(msg)
	if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
		msg = strings.TrimSpace(msg[:i])
	}
	return msg
}
