package commands

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// jobWrite is what create and set share: a job NAME and its flags (with a
// command after "--"), the dry-run strategy, the output format and where to
// write.
type jobWrite struct {
	Name       string
	Job        jobFlags
	PrintFlags *genericclioptions.PrintFlags

	flags  *genericclioptions.ConfigFlags
	target target
	dryRun dryRun
}

// addFlags registers the job flags (set: as changes), --dry-run and -o.
func (w *jobWrite) addFlags(cmd *cobra.Command, set bool) {
	w.Job.addFlags(cmd.Flags(), set)
	addDryRunFlag(cmd, &w.dryRun)
	w.PrintFlags = writePrintFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("registry", completeRegistryNames(w.flags))
}

// complete reads NAME, a command after "--", the dry-run strategy, the
// output format, the namespace and the client.
func (w *jobWrite) complete(cmd *cobra.Command, args []string) error {
	if dash := cmd.ArgsLenAtDash(); dash >= 0 {
		w.Job.Command, args = args[dash:], args[:dash]
	}
	if len(args) != 1 {
		return fmt.Errorf("exactly one NAME is required (a command goes after '--'), got %d arguments", len(args))
	}
	w.Name = args[0]
	if err := checkOutput(w.PrintFlags); err != nil {
		return err
	}
	var err error
	w.target, err = resolveTarget(w.flags)
	return err
}
