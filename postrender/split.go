package postrender

import "bytes"

// A chunk is one YAML document of the input stream as raw bytes, laid out as
//
//	prefix  comments, blank lines and directives before the document, and
//	        the "---" start marker line if there is one
//	body    the document's content, handed to the YAML decoder
//	suffix  the "..." end marker line, if the document has one
//
// Concatenating the raw bytes of all chunks gives back the input exactly.
type chunk struct {
	raw  []byte
	line int // 1-based line number of raw[0] in the input

	markerStart, markerEnd int  // offsets of the "---" line; -1 without one
	inlineMarker           bool // the marker line holds content ("--- {a: 1}")
	directives             bool // "%YAML"/"%TAG" lines precede the marker
	content                bool // anything but blank lines, comments and markers
	bomLen                 int  // length of a UTF-8 byte order mark at raw[0]
	bodyEnd                int  // offset of the suffix ("..." line) or len(raw)
}

// bodyStart is the offset of the part of raw that is given to the decoder.
// When the document is re-encoded, raw before it is copied verbatim, and
// synth reports whether a "---" line has to follow, because the original
// marker line is decoded along with the body.
func (c *chunk) bodyStart() (start int, synth bool) {
	switch {
	case c.markerStart < 0:
		return c.bomLen, false
	case c.directives:
		// %TAG handles are needed to decode the body; directives are not
		// written back (the encoder resolves tags to their full form).
		return c.bomLen, true
	case c.inlineMarker:
		return c.markerStart, true
	default:
		return c.markerEnd, false
	}
}

var utf8BOM = []byte("\xef\xbb\xbf")

// splitter cuts a YAML stream into chunks the way a YAML 1.2 parser sees
// documents: a line starting with "---" or "..." followed by a blank (or the
// end of the line) is a document marker wherever it appears, even inside a
// block scalar, because such lines are forbidden in document content. Lines
// before a document's first content that are blank, comments or directives
// belong to that document, so a leading comment block and the "---" after it
// are one chunk.
type splitter struct {
	in   []byte
	pos  int
	line int
}

func newSplitter(in []byte) *splitter { return &splitter{in: in, line: 1} }

// next returns the next chunk, or false at the end of the input.
func (s *splitter) next() (chunk, bool) {
	if s.pos >= len(s.in) {
		return chunk{}, false
	}
	start := s.pos
	c := chunk{line: s.line, markerStart: -1, markerEnd: -1}
	if start == 0 && bytes.HasPrefix(s.in, utf8BOM) {
		c.bomLen = len(utf8BOM)
	}
	for s.pos < len(s.in) {
		lineStart, lineEnd := s.pos, s.pos+lineLen(s.in[s.pos:])
		l := s.in[lineStart:lineEnd]
		if lineStart == 0 {
			l = l[c.bomLen:]
		}
		switch {
		case isMarker(l, '-'):
			if c.content || c.markerStart >= 0 {
				return s.finish(&c, start, -1), true
			}
			c.markerStart, c.markerEnd = lineStart-start, lineEnd-start
			if !isBlankOrComment(l[3:]) {
				c.inlineMarker, c.content = true, true
			}
		case isMarker(l, '.'):
			s.advance(lineEnd)
			return s.finish(&c, start, lineStart-start), true
		case c.content:
		case c.markerStart < 0 && len(l) > 0 && l[0] == '%':
			c.directives = true
		case !isBlankOrComment(l):
			c.content = true
		}
		s.advance(lineEnd)
	}
	return s.finish(&c, start, -1), true
}

func (s *splitter) advance(to int) {
	if to > s.pos && s.in[to-1] == '\n' {
		s.line++
	}
	s.pos = to
}

func (s *splitter) finish(c *chunk, start, endMarker int) chunk {
	c.raw = s.in[start:s.pos]
	c.bodyEnd = len(c.raw)
	if endMarker >= 0 {
		c.bodyEnd = endMarker
	}
	return *c
}

// lineLen is the length of the first line of b, including its '\n'.
func lineLen(b []byte) int {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return i + 1
	}
	return len(b)
}

// isMarker reports whether line is a document marker made of three c
// characters ("---" or "...") followed by a blank or the end of the line.
func isMarker(line []byte, c byte) bool {
	if len(line) < 3 || line[0] != c || line[1] != c || line[2] != c {
		return false
	}
	if len(line) == 3 {
		return true
	}
	switch line[3] {
	case ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

// isBlankOrComment reports whether b holds only blanks and line breaks,
// optionally followed by a comment.
func isBlankOrComment(b []byte) bool {
	for _, ch := range b {
		switch ch {
		case ' ', '\t', '\r', '\n':
			continue
		case '#':
			return true
		}
		return false
	}
	return true
}
