package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// DeleteRunOptions delete single runs.
type DeleteRunOptions struct {
	flags       *genericclioptions.ConfigFlags
	Runs        []string
	AllFinished string
	DryRun      string
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
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Runs = args
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.AllFinished, "all-finished", "", "Delete every finished run of this job")
	addDryRunFlag(cmd, &o.DryRun)
	return cmd
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
	dry, err := parseDryRun(o.DryRun)
	if err != nil {
		return err
	}
	t, err := resolveTarget(o.flags)
	if err != nil {
		return err
	}
	names := o.Runs
	if o.AllFinished != "" {
		runs, err := run.List(ctx, t.Client, t.Namespace, o.AllFinished)
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
		if dry == dryRunClient {
			_, err = run.Get(ctx, t.Client, t.Namespace, n)
		} else {
			err = run.Delete(ctx, t.Client, t.Namespace, n, dry.writeOptions().DryRun)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(o.Out, "run.shipjob.dev/%s deleted%s\n", n, dry.suffix())
	}
	return reportErrors(o.ErrOut, errs)
}
