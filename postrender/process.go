package postrender

import (
	"bytes"
	"context"
	"fmt"
)

// Process applies opts to a stream of YAML documents, such as the manifests
// Helm renders, and returns the new stream. See the package documentation for
// what changes and what is kept. On error it returns nil and no output at
// all; it never returns an empty result without an error, except for empty
// input with opts.AllowEmpty.
func Process(in []byte, opts Options) ([]byte, error) {
	return ProcessContext(context.Background(), in, opts)
}

// ProcessContext is Process that gives up once ctx is done: it looks at ctx
// before each document and while it expands aliases, and then returns an
// error wrapping context.Cause(ctx) and no output.
func ProcessContext(ctx context.Context, in []byte, opts Options) ([]byte, error) {
	return process(ctx, in, docProcessor{opts: opts})
}

func process(ctx context.Context, in []byte, p docProcessor) ([]byte, error) {
	if err := p.opts.validate(); err != nil {
		return nil, fmt.Errorf("postrender: %w", err)
	}
	if bytes.HasPrefix(in, []byte{0xfe, 0xff}) || bytes.HasPrefix(in, []byte{0xff, 0xfe}) {
		return nil, ErrUnsupportedEncoding
	}
	out := make([]byte, 0, p.sizeHint(in))
	sp := newSplitter(in)
	st := &stream{ctx: ctx}
	content := false
	for num := 1; ; num++ {
		if ctx.Err() != nil {
			return nil, stopped(ctx)
		}
		c, ok := sp.next()
		if !ok {
			break
		}
		content = content || c.content
		var err error
		if out, err = p.appendChunk(out, c, num, st); err != nil {
			if ctx.Err() != nil {
				return nil, stopped(ctx)
			}
			return nil, err
		}
	}
	if !content {
		if p.opts.AllowEmpty {
			return append([]byte{}, in...), nil
		}
		return nil, ErrEmptyInput
	}
	return out, nil
}

// stopped is the error of a Process that gave up because ctx is done.
func stopped(ctx context.Context) error {
	return fmt.Errorf("postrender: stopped: %w", context.Cause(ctx))
}

// growthPerDocument estimates how many bytes re-encoding a Job adds: the
// annotations, the TTL and small changes of layout.
const growthPerDocument = 192

// sizeHint estimates the size of the output, so that the output buffer is
// allocated once instead of being copied as it grows, which would keep two
// copies alive at the end.
func (p docProcessor) sizeHint(in []byte) int {
	n := len(in) + len(in)/16
	for sp := newSplitter(in); ; {
		c, ok := sp.next()
		if !ok {
			return n
		}
		if p.mayChange(c) {
			n += growthPerDocument
		}
	}
}
