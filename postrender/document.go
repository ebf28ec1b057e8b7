package postrender

import (
	"bytes"
	"errors"
	"io"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

var (
	crlf = []byte("\r\n")
	lf   = []byte("\n")
)

var errSeveralDocuments = errors.New("malformed YAML: more than one document " +
	"where one was expected (a line break other than LF or CRLF before a document marker?)")

// docProcessor applies the options to the documents of a stream.
type docProcessor struct {
	opts     Options
	parseAll bool // turns the fast path off (for tests)
}

// appendChunk appends the output for chunk c, the num-th document, to out.
// Documents that cannot be Jobs, CronJobs or Lists are copied without being
// parsed; parsed documents that need no change are copied too.
func (p docProcessor) appendChunk(out []byte, c chunk, num int, st *stream) ([]byte, error) {
	if !p.mayChange(c) {
		return append(out, c.raw...), nil
	}
	start, synth := c.bodyStart()
	body := c.raw[start:c.bodyEnd]
	enc, err := p.rewrite(body, st)
	if err != nil {
		return nil, docError(num, c.line+bytes.Count(c.raw[:start], lf), err)
	}
	if enc == nil {
		return append(out, c.raw...), nil
	}
	out = append(out, c.raw[:start]...)
	if synth {
		out = append(out, "---"...)
		out = append(out, eol(body)...)
	}
	out = append(out, enc...)
	return append(out, c.raw[c.bodyEnd:]...), nil
}

// mayChange reports whether chunk c has to be parsed.
func (p docProcessor) mayChange(c chunk) bool {
	if !c.content {
		return false
	}
	start, _ := c.bodyStart()
	return p.parseAll || mayBeRelevant(c.raw[start:c.bodyEnd])
}

// mayBeRelevant is the fast path. It reports false only for documents that
// cannot be a Job, CronJob or List, so that they need not be parsed. A YAML
// scalar can only hold "Job" or "List" if the text spells it out or builds it
// from escapes in a double-quoted scalar, which take a backslash and a double
// quote. Aliases cannot reach outside their document.
func mayBeRelevant(body []byte) bool {
	return bytes.Contains(body, []byte("Job")) ||
		bytes.Contains(body, []byte("List")) ||
		(bytes.IndexByte(body, '\\') >= 0 && bytes.IndexByte(body, '"') >= 0)
}

// rewrite parses one document, applies the policy and returns the document
// re-encoded, or nil if the policy changed nothing.
func (p docProcessor) rewrite(body []byte, st *stream) ([]byte, error) {
	useCRLF := bytes.Contains(body, crlf)
	if useCRLF {
		body = bytes.ReplaceAll(body, crlf, lf)
	}
	doc, err := decodeOne(body)
	if err != nil || doc == nil {
		return nil, err
	}
	expanded, err := st.expandAliases(doc.Content[0])
	if err != nil {
		return nil, err
	}
	doc.Content[0] = expanded
	root := yaml.NewRNode(expanded)
	// Duplicate keys only matter, and are only reported, if the policy
	// changes the document.
	dupErr := checkDuplicateKeys(doc)
	t := &tracker{}
	if _, err := (jobPolicy{opts: p.opts, track: t}).Filter([]*yaml.RNode{root}); err != nil {
		return nil, err
	}
	if t.edits == 0 {
		return nil, nil
	}
	if dupErr != nil {
		return nil, dupErr
	}
	avoidEncoderBugs(doc, false)
	var buf bytes.Buffer
	style := yaml.SequenceIndentStyle(yaml.DeriveSeqIndentStyle(string(body)))
	enc := yaml.NewEncoderWithOptions(&buf, &yaml.EncoderOptions{SeqIndent: style})
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	if useCRLF {
		return bytes.ReplaceAll(buf.Bytes(), lf, crlf), nil
	}
	return buf.Bytes(), nil
}

// decodeOne decodes body, which must hold at most one document. It returns
// nil for a body without a document.
func decodeOne(body []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(body))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, errSeveralDocuments
	case !errors.Is(err, io.EOF):
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, nil
	}
	return &doc, nil
}

// eol is the line break style of body.
func eol(body []byte) []byte {
	if bytes.Contains(body, crlf) {
		return crlf
	}
	return lf
}
