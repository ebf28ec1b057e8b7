package postrender

import (
	"bytes"
	"testing"
)

type chunkWant struct {
	raw     string
	content bool
	body    string
}

func TestSplitter(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []chunkWant
	}{
		{"helm v3", "---\n# Source: a\na: 1\n---\n# Source: b\nb: 2\n", []chunkWant{
			{"---\n# Source: a\na: 1\n", true, "# Source: a\na: 1\n"},
			{"---\n# Source: b\nb: 2\n", true, "# Source: b\nb: 2\n"},
		}},
		{"no markers", "a: 1\n", []chunkWant{{"a: 1\n", true, "a: 1\n"}}},
		{"leading comments join the first document", "# c\n\n---\na: 1\n", []chunkWant{
			{"# c\n\n---\na: 1\n", true, "a: 1\n"},
		}},
		{"empty documents", "---\n---\n# x\n---\n", []chunkWant{
			{"---\n", false, ""}, {"---\n# x\n", false, "# x\n"}, {"---\n", false, ""},
		}},
		{"marker in block scalar ends the document", "a: |\n  x\n---\nb: 2\n", []chunkWant{
			{"a: |\n  x\n", true, "a: |\n  x\n"}, {"---\nb: 2\n", true, "b: 2\n"},
		}},
		{"indented and longer dashes are content", "a: |\n  ---\n----\n---x\n", []chunkWant{
			{"a: |\n  ---\n----\n---x\n", true, "a: |\n  ---\n----\n---x\n"},
		}},
		{"end marker", "a: 1\n... # end\n# next\nb: 2\n", []chunkWant{
			{"a: 1\n... # end\n", true, "a: 1\n"}, {"# next\nb: 2\n", true, "# next\nb: 2\n"},
		}},
		{"inline marker", "--- {a: 1}\n--- |\n  text\n", []chunkWant{
			{"--- {a: 1}\n", true, "--- {a: 1}\n"}, {"--- |\n  text\n", true, "--- |\n  text\n"},
		}},
		{"marker with comment and tab", "---\t# c\na: 1\n", []chunkWant{{"---\t# c\na: 1\n", true, "a: 1\n"}}},
		{"directive", "%YAML 1.1\n---\na: 1\n", []chunkWant{{"%YAML 1.1\n---\na: 1\n", true, "%YAML 1.1\n---\na: 1\n"}}},
		{"crlf", "---\r\na: 1\r\n---\r\nb: 2", []chunkWant{
			{"---\r\na: 1\r\n", true, "a: 1\r\n"}, {"---\r\nb: 2", true, "b: 2"},
		}},
		{"marker at end without newline", "a: 1\n---", []chunkWant{{"a: 1\n", true, "a: 1\n"}, {"---", false, ""}}},
		{"bom", "\xef\xbb\xbf---\na: 1\n", []chunkWant{{"\xef\xbb\xbf---\na: 1\n", true, "a: 1\n"}}},
		{"bom without marker", "\xef\xbb\xbfa: 1\n", []chunkWant{{"\xef\xbb\xbfa: 1\n", true, "a: 1\n"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []chunk
			var joined []byte
			for sp := newSplitter([]byte(tc.in)); ; {
				c, ok := sp.next()
				if !ok {
					break
				}
				got = append(got, c)
				joined = append(joined, c.raw...)
			}
			if string(joined) != tc.in {
				t.Errorf("chunks do not add up to the input: %q", joined)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d chunks, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				c := got[i]
				start, _ := c.bodyStart()
				body := string(c.raw[start:c.bodyEnd])
				if string(c.raw) != w.raw || c.content != w.content || body != w.body {
					t.Errorf("chunk %d = raw %q content %v body %q; want %q %v %q", i, c.raw, c.content, body, w.raw, w.content, w.body)
				}
			}
		})
	}
}

func TestSplitterLines(t *testing.T) {
	in := []byte("a: 1\n---\n# c\nb: 2\n...\n\nc: 3\n")
	var lines []int
	for sp := newSplitter(in); ; {
		c, ok := sp.next()
		if !ok {
			break
		}
		lines = append(lines, c.line)
		if got := 1 + bytes.Count(in[:bytes.Index(in, c.raw)], lf); got != c.line {
			t.Errorf("chunk %q: line %d, want %d", c.raw, c.line, got)
		}
	}
	if len(lines) != 3 {
		t.Errorf("chunks start at lines %v, want 3 chunks", lines)
	}
}
