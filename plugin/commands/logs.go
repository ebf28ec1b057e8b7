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

// LogsOptions print the logs of a run.
type LogsOptions struct {
	Name string
	run.LogOptions
	Latest bool
	task   int32

	flags  *genericclioptions.ConfigFlags
	target target
	genericiooptions.IOStreams
}

func newLogsCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &LogsOptions{flags: flags, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "logs RUN|JOB",
		Short: "Print the logs of a run (of a job's newest run when given a job)",
		Long: `Print the logs of a run. Given a job name, the job's newest run is used.
Every attempt is printed (with a header each) unless --latest-attempt. With -f the
logs are streamed until the run has finished — also when the node keeps the stream
open.`,
		Example: `  kubectl shipjob logs migrate            # newest run of job migrate
  kubectl shipjob logs migrate-0abc12xy34 -f
  kubectl shipjob logs migrate --tail 20 --timestamps
  kubectl shipjob logs reindex --task 3   # one task of a run of several`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeJobNames(flags),
		RunE:              runE(o),
	}
	cmd.Flags().BoolVarP(&o.Follow, "follow", "f", false, "Stream the logs until the run has finished")
	cmd.Flags().BoolVar(&o.Latest, "latest-attempt", false, "Only the latest attempt (runs with retries)")
	cmd.Flags().BoolVar(&o.Timestamps, "timestamps", false, "Prefix each line with its time")
	cmd.Flags().Int64Var(&o.TailLines, "tail", 0, "Lines of each attempt to show from its end (0 = all)")
	cmd.Flags().Int32Var(&o.task, "task", -1, "Only this task (its index, from 0) of a run of several tasks; only its pods are listed")
	return cmd
}

// Complete takes the run or job name and resolves the namespace and
// client.
func (o *LogsOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Name = args[0]
	o.AllAttempts = !o.Latest
	if cmd.Flags().Changed("task") {
		o.Task = &o.task
	}
	var err error
	o.target, err = resolveTarget(o.flags)
	return err
}

// Validate checks the line count (-1 means all, as in kubectl).
func (o *LogsOptions) Validate() error {
	if o.TailLines < -1 {
		return errors.New("--tail must be -1 or more")
	}
	if o.Task != nil && (*o.Task < 0 || *o.Task >= jobdef.MaxTasks) {
		return fmt.Errorf("--task must be a task index from 0 to %d", jobdef.MaxTasks-1)
	}
	return nil
}

// Run resolves the run and prints its logs.
func (o *LogsOptions) Run(ctx context.Context) error {
	t := o.target
	name, err := run.Resolve(ctx, t.Client, t.Namespace, o.Name)
	if err != nil {
		return err
	}
	err = run.Logs(ctx, t.Client, t.Namespace, name, o.LogOptions, o.Out)
	if errors.Is(err, run.ErrNoPodYet) {
		return fmt.Errorf("%w: use -f to wait for its output", err)
	}
	return err
}
