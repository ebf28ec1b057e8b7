package main

import (
	"slices"
	"strings"
	"testing"
)

const sample = `# example.com/cmd
_ -> _rt0_amd64_linux
_rt0_amd64_linux -> runtime.main
runtime.main -> main.main
main.main -> example.com/run.New
example.com/run.New -> type:*example.com/run.T <UsedInIface>
type:*example.com/run.T <UsedInIface> -> type:example.com/run.T <UsedInIface>
type:example.com/run.T <UsedInIface> -> type:*example.com/reg.Client <UsedInIface>
type:*example.com/reg.Client <UsedInIface> -> example.com/reg.(*Client).Push <ReflectMethod>
example.com/reg.(*Client).Push <ReflectMethod> -> oras.land/remote.Push
main.main -> oras.land/remote.Push
crypto/rsa.Validate -> oras.land/remote.Pull.stkobj
go:main.inittasks -> oras.land/remote..inittask
`

func TestChain(t *testing.T) {
	g, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	syms := g.find("oras.land/", 5)
	if want := []string{"oras.land/remote.Push"}; !slices.Equal(syms, want) {
		t.Fatalf("find = %q, want %q (inittask left out, first marking only)", syms, want)
	}
	got := g.chain(syms[0])
	want := []string{
		"oras.land/remote.Push",
		"example.com/reg.(*Client).Push",
		"type:*example.com/reg.Client <UsedInIface>",
		"type:example.com/run.T <UsedInIface>",
		"type:*example.com/run.T <UsedInIface>",
		"example.com/run.New",
		"main.main",
	}
	if !slices.Equal(got, want) {
		t.Errorf("chain =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(g.find("example.com/none", 1)) != 0 {
		t.Error("found an unreachable prefix")
	}
}

func TestParseRejectsOtherInput(t *testing.T) {
	if _, err := parse(strings.NewReader("ok  \tsome/pkg\t0.1s\n")); err == nil {
		t.Error("parse accepted input without -> lines")
	}
}
