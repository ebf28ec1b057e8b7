package commands

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestRepeatableFlagsAreAsPflags: stringArrayVar and stringSliceVar parse
// every command line as pflag's StringArrayVar and StringSliceVar do, and
// print the same help.
func TestRepeatableFlagsAreAsPflags(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"--x", "a"},
		{"--x", "a,b", "--x", "c"},
		{"--x=", "--x", `"q,r",s`},
		{"-X", "a", "-X", "b,c"},
		{"--x", `"unclosed`},
	} {
		for _, slice := range []bool{false, true} {
			var ours, theirs []string
			o, p := pflag.NewFlagSet("ours", pflag.ContinueOnError), pflag.NewFlagSet("pflag", pflag.ContinueOnError)
			if slice {
				stringSliceVar(o, &ours, "x", "X", "usage")
				p.StringSliceVarP(&theirs, "x", "X", nil, "usage")
			} else {
				stringArrayVar(o, &ours, "x", "X", "usage")
				p.StringArrayVarP(&theirs, "x", "X", nil, "usage")
			}
			oerr, perr := o.Parse(args), p.Parse(args)
			if (oerr == nil) != (perr == nil) {
				t.Errorf("slice %v, %q: error %v, pflag's %v", slice, args, oerr, perr)
				continue
			}
			if oerr == nil && !slices.Equal(ours, theirs) {
				t.Errorf("slice %v, %q: %q, pflag's %q", slice, args, ours, theirs)
			}
			if got, want := o.FlagUsages(), p.FlagUsages(); got != want {
				t.Errorf("slice %v: help %q, pflag's %q", slice, got, want)
			}
			if ov, pv := o.Lookup("x").Value.(pflag.SliceValue), p.Lookup("x").Value.(pflag.SliceValue); !slices.Equal(ov.GetSlice(), pv.GetSlice()) && oerr == nil {
				t.Errorf("slice %v, %q: GetSlice %q, pflag's %q", slice, args, ov.GetSlice(), pv.GetSlice())
			}
		}
	}
	if !strings.Contains((&stringArray{p: &[]string{"a", "b"}}).String(), "a,b") {
		t.Error("a set value does not print")
	}
}
