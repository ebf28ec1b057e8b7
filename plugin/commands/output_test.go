package commands

import (
	"bytes"
	"testing"
)

func TestCheckFormat(t *testing.T) {
	for _, ok := range []string{"", "json", "yaml"} {
		if err := checkFormat(ok, "json", "yaml"); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	cases := map[string][]string{
		`--output must be json or yaml, got "x"`:             {"json", "yaml"},
		`--output must be wide, name, json or yaml, got "x"`: {"wide", "name", "json", "yaml"},
		`--output must be json, got "x"`:                     {"json"},
	}
	for want, formats := range cases {
		if err := checkFormat("x", formats...); err == nil || err.Error() != want {
			t.Errorf("%v: %v, want %q", formats, err, want)
		}
	}
}

func TestWriteData(t *testing.T) {
	v := map[string]any{"a": []int{1}}
	var b bytes.Buffer
	if err := writeData(&b, "json", v, "x"); err != nil || b.String() != "{\n  \"a\": [\n    1\n  ]\n}\n" {
		t.Fatalf("json: %q, %v", b.String(), err)
	}
	b.Reset()
	if err := writeData(&b, "yaml", v, "x"); err != nil || b.String() != "a:\n- 1\n" {
		t.Fatalf("yaml: %q, %v", b.String(), err)
	}
}
