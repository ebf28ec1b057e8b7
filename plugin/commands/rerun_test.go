package commands

import (
	"slices"
	"testing"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/shipjob/kubectl-shipjob/plugin/helmrun"
)

// TestRerunHasRunsFlags: rerun takes every flag of run, with the same
// defaults (they are one set: addFlags).
func TestRerunHasRunsFlags(t *testing.T) {
	streams := genericiooptions.NewTestIOStreamsDiscard()
	flags := genericclioptions.NewConfigFlags(false)
	names := func(fs *pflag.FlagSet) (out []string) {
		fs.VisitAll(func(f *pflag.Flag) { out = append(out, f.Name+"="+f.DefValue+" "+f.Shorthand) })
		return out
	}
	run, rerun := names(newRunCmd(flags, helmrun.New, streams).Flags()), names(newRerunCmd(flags, helmrun.New, streams).Flags())
	if !slices.Equal(run, rerun) || len(run) < 9 {
		t.Fatalf("run flags %q, rerun flags %q", run, rerun)
	}
}

func TestRerunValidatesLikeRun(t *testing.T) {
	o := &RerunOptions{RunOptions: RunOptions{Wait: true, dryRun: dryRunClient, PullTimeout: 1}}
	if err := o.Validate(); err == nil || err.Error() != "--wait and --follow cannot be used with --dry-run" {
		t.Fatalf("Validate: %v", err)
	}
}
