package commands

import (
	"encoding/csv"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// stringArrayVar defines a flag that may be given any number of times,
// each value kept whole (no splitting at commas): pflag's StringArrayVar
// with an empty default, without the CSV encoding of that default which
// pflag makes for every such flag it registers (a 4 KB buffer each; with
// about 70 of them, stringSliceVar's included, that was a twentieth of
// every command's start-up: BENCHMARKS.md, "Start-up").
func stringArrayVar(fs *pflag.FlagSet, p *[]string, name, short, usage string) {
	*p = nil
	fs.VarP(&stringArray{p: p}, name, short, usage)
}

// stringArray is the flag.Value of stringArrayVar: the first value given
// replaces the default, the others are appended.
type stringArray struct {
	p   *[]string
	set bool
}

var _ pflag.SliceValue = (*stringArray)(nil)

func (a *stringArray) Set(v string) error {
	if !a.set {
		*a.p, a.set = nil, true
	}
	*a.p = append(*a.p, v)
	return nil
}

// Type is pflag's name for it (shown in help, and completion scripts
// offer the flag again).
func (a *stringArray) Type() string { return "stringArray" }

// String is "" while empty: the help shows no default.
func (a *stringArray) String() string {
	if len(*a.p) == 0 {
		return ""
	}
	return "[" + strings.Join(*a.p, ",") + "]"
}

func (a *stringArray) Append(v string) error {
	*a.p = append(*a.p, v)
	return nil
}

func (a *stringArray) Replace(vs []string) error {
	*a.p = slices.Clone(vs)
	return nil
}

func (a *stringArray) GetSlice() []string { return slices.Clone(*a.p) }

// stringSliceVar defines a flag whose values are comma-separated (as CSV:
// a value may be quoted) and may also be repeated: pflag's
// StringSliceVar with an empty default (see stringArrayVar).
func stringSliceVar(fs *pflag.FlagSet, p *[]string, name, short, usage string) {
	*p = nil
	fs.VarP(&stringSlice{stringArray{p: p}}, name, short, usage)
}

// stringSlice is the flag.Value of stringSliceVar.
type stringSlice struct{ stringArray }

func (s *stringSlice) Set(v string) error {
	var vs []string
	if v != "" {
		var err error
		if vs, err = csv.NewReader(strings.NewReader(v)).Read(); err != nil {
			return fmt.Errorf("not comma-separated values: %w", err)
		}
	}
	if !s.set {
		*s.p, s.set = nil, true
	}
	*s.p = append(*s.p, vs...)
	return nil
}

func (s *stringSlice) Type() string { return "stringSlice" }
