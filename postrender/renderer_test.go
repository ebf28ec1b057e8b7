package postrender

import (
	"bytes"
	"errors"
	"testing"
)

func TestRendererRun(t *testing.T) {
	r := Renderer{Options: Options{Keep: true}}
	in := bytes.NewBufferString("apiVersion: v1\nkind: ConfigMap\n")
	out, err := r.Run(in)
	if err != nil || out.String() != "apiVersion: v1\nkind: ConfigMap\n" {
		t.Errorf("Run = %q, %v", out, err)
	}
	if out, err := r.Run(nil); !errors.Is(err, ErrEmptyInput) || out != nil {
		t.Errorf("Run(nil) = %v, %v; want ErrEmptyInput", out, err)
	}
	r.Options.AllowEmpty = true
	if out, err := r.Run(nil); err != nil || out == nil || out.Len() != 0 {
		t.Errorf("Run(nil) with AllowEmpty = %v, %v; want an empty buffer", out, err)
	}
}
