package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// CancelOptions cancel running runs.
type CancelOptions struct {
	Names []string
	Wait  bool

	flags  *genericclioptions.ConfigFlags
	target target
	dryRun dryRun
	genericiooptions.IOStreams
}

func newCancelCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CancelOptions{flags: flags, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "cancel RUN|JOB...",
		Short: "Cancel running runs (a job name cancels its newest run)",
		Long: `Cancel running runs. The run is marked cancelled (who, when) and its deadline is
moved to now: the Job controller stops its pods and the run ends as Cancelled. It
is kept like any finished run until its retention ends.`,
		Example: `  kubectl shipjob cancel migrate-0abc12xy34
  kubectl shipjob cancel migrate --wait`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeJobNames(flags),
		RunE:              runE(o),
	}
	cmd.Flags().BoolVarP(&o.Wait, "wait", "w", false, "Wait until the runs have stopped")
	addDryRunFlag(cmd, &o.dryRun)
	return cmd
}

// Complete takes the names and resolves the namespace and client.
func (o *CancelOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Names = args
	var err error
	o.target, err = resolveTarget(o.flags)
	return err
}

// Validate has nothing to check: names are looked up as runs or jobs.
func (o *CancelOptions) Validate() error { return nil }

// Run cancels each run; it fails (exit 1) if any could not be cancelled.
func (o *CancelOptions) Run(ctx context.Context) error {
	t := o.target
	by := run.WhoAmI(ctx, t.Client)
	var firstErr error
	for _, n := range o.Names {
		name, err := run.Resolve(ctx, t.Client, t.Namespace, n)
		if err == nil {
			_, err = run.Cancel(ctx, t.Client, t.Namespace, name, by, o.dryRun.domain())
		}
		if err == nil && o.Wait && o.dryRun == dryRunNone {
			_, err = run.Wait(ctx, t.Client, t.Namespace, name, run.WaitOptions{})
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			fmt.Fprintln(o.ErrOut, FormatError(err))
			continue
		}
		fmt.Fprintf(o.Out, "run.shipjob.dev/%s cancelled%s\n", name, o.dryRun.suffix())
	}
	if firstErr != nil {
		return &ExitError{Code: 1}
	}
	return nil
}
