package commands

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// DeleteRunOptions delete single runs.
type DeleteRunOptions struct {
	Runs        []string
	AllFinished string

	flags  *genericclioptions.ConfigFlags
	target target
	dryRun dryRun
	genericiooptions.IOStreams
}

func newDeleteRunCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DeleteRunOptions{flags: flags, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "delete-run RUN... | --all-finished JOB",
		Short: "Delete runs: their Job, pods and files",
		Long: `Delete runs, finished or not: their Job, pods and files go (the garbage
collector removes the dependents). --all-finished JOB deletes every finished run
of a job and leaves running ones. Same as 'kubectl shipjob delete run/RUN'.`,
		Example: `  kubectl shipjob delete-run migrate-09xi5scrch
  kubectl shipjob delete-run --all-finished migrate`,
		ValidArgsFunction: completeJobNames(flags),
		RunE:              runE(o),
	}
	cmd.Flags().StringVar(&o.AllFinished, "all-finished", "", "Delete every finished run of this job")
	addDryRunFlag(cmd, &o.dryRun)
	return cmd
}

// Complete takes the run names and resolves the namespace and client.
func (o *DeleteRunOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Runs = args
	var err error
	o.target, err = resolveTarget(o.flags)
	return err
}

// Validate checks that exactly one way of naming runs is used.
func (o *DeleteRunOptions) Validate() error {
	if (len(o.Runs) == 0) == (o.AllFinished == "") {
		return errors.New("give run names or --all-finished JOB (not both)")
	}
	if o.AllFinished != "" {
		return jobdef.ValidateName(o.AllFinished)
	}
	return nil
}

// Run deletes the runs; one that fails does not stop the others.
func (o *DeleteRunOptions) Run(ctx context.Context) error {
	names := o.Runs
	if o.AllFinished != "" {
		runs, err := run.List(ctx, o.target.Client, o.target.Namespace, o.AllFinished)
		if err != nil {
			return err
		}
		for _, r := range runs {
			if r.Phase.Finished() {
				names = append(names, r.Name)
			}
		}
		if len(names) == 0 {
			fmt.Fprintf(o.ErrOut, "No finished runs of job %s.\n", o.AllFinished)
			return nil
		}
	}
	var errs []error
	for _, n := range names {
		if err := deleteRun(ctx, o.target, n, o.dryRun, o.Out); err != nil {
			errs = append(errs, err)
		}
	}
	return reportErrors(o.ErrOut, errs)
}

// deleteRun deletes one run and reports it: what `delete run/RUN` and
// `delete-run RUN` both do.
func deleteRun(ctx context.Context, t target, name string, dry dryRun, w io.Writer) error {
	if err := run.Delete(ctx, t.Client, t.Namespace, name, dry.domain()); err != nil {
		return err
	}
	fmt.Fprintf(w, "run.shipjob.dev/%s deleted%s\n", name, dry.suffix())
	return nil
}
