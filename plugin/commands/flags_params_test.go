package commands

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// TestParamTypeFlags: the typed flags describe parameters the definition
// has, keep their fields when --param changes a default, and name the flag
// in their errors.
func TestParamTypeFlags(t *testing.T) {
	f := &jobFlags{}
	cmd := &cobra.Command{}
	f.addFlags(cmd.Flags(), true)
	j := jobdef.New("ns", "x")
	j.Spec.Image = "busybox"
	args := []string{"--param", "COUNT=3", "--param-type", "COUNT=integer", "--param-description", "COUNT=how many",
		"--param", "REGION=eu", "--param-enum", "REGION=eu,us", "--required-param", "TOKEN", "--secret-param", "TOKEN",
		"--param", "TICKET=OPS-1", "--param-pattern", "TICKET=OPS-[0-9]+"}
	if err := f.set.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := f.apply(j); err != nil {
		t.Fatal(err)
	}
	if err := j.Validate(); err != nil {
		t.Fatal(err)
	}
	byName := map[string]jobdef.Parameter{}
	for _, p := range j.Spec.Parameters {
		byName[p.Name] = p
	}
	if p := byName["COUNT"]; p.Type != "integer" || p.Description != "how many" || p.Default != "3" {
		t.Errorf("COUNT = %+v", p)
	}
	if p := byName["REGION"]; !slices.Equal(p.Enum, []string{"eu", "us"}) {
		t.Errorf("REGION = %+v", p)
	}
	if p := byName["TOKEN"]; !p.Secret || !p.Required {
		t.Errorf("TOKEN = %+v", p)
	}
	// set --param COUNT=5 later keeps the type and description.
	g := &jobFlags{}
	g.addFlags((&cobra.Command{}).Flags(), true)
	_ = g.set.Parse([]string{"--param", "COUNT=5"})
	if err := g.apply(j); err != nil {
		t.Fatal(err)
	}
	for _, p := range j.Spec.Parameters {
		if p.Name == "COUNT" && (p.Type != "integer" || p.Description != "how many" || p.Default != "5") {
			t.Errorf("after set --param COUNT=5: %+v", p)
		}
	}
	for flag, want := range map[string]string{
		"--param-type=NOPE=integer": `--param-type NOPE: the job has no parameter "NOPE" (add it with --param or --required-param)`,
		"--param-enum=REGION":       `invalid --param-enum "REGION": want NAME=a,b,c`,
		"--secret-param=TOKEN=yes":  `invalid --secret-param "TOKEN=yes": want NAME, NAME=true or NAME=false`,
	} {
		h := &jobFlags{}
		h.addFlags((&cobra.Command{}).Flags(), true)
		_ = h.set.Parse([]string{flag})
		if err := h.apply(j.DeepCopy()); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", flag, err, want)
		}
	}
}

// TestParamCompletions: names (with "=" and no space), then enum values.
func TestParamCompletions(t *testing.T) {
	ps := []jobdef.Parameter{{Name: "REGION", Enum: []string{"eu", "us"}, Description: "where"}, {Name: "RESET", Type: jobdef.ParamBoolean, Default: "false"}, {Name: "COUNT"}}
	got, dir := paramCompletions(ps, "RE")
	if len(got) != 2 || !strings.HasPrefix(got[0], "REGION=") || dir&cobra.ShellCompDirectiveNoSpace == 0 {
		t.Errorf("names: %v %v", got, dir)
	}
	if got, _ := paramCompletions(ps, "REGION=u"); !slices.Equal(got, []cobra.Completion{"REGION=us"}) {
		t.Errorf("enum: %v", got)
	}
	if got, _ := paramCompletions(ps, "RESET="); !slices.Equal(got, []cobra.Completion{"RESET=true", "RESET=false"}) {
		t.Errorf("boolean: %v", got)
	}
}
