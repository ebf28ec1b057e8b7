package commands

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// LogsOptions print the logs of a run.
type LogsOptions struct {
	flags *genericclioptions.ConfigFlags
	Name  string
	run.LogOptions
	Latest bool
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
  kubectl shipjob logs migrate --tail 20 --timestamps`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeJobNames(flags),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVarP(&o.Follow, "follow", "f", false, "Stream the logs until the run has finished")
	cmd.Flags().BoolVar(&o.Latest, "latest-attempt", false, "Only the latest attempt (runs with retries)")
	cmd.Flags().BoolVar(&o.Timestamps, "timestamps", false, "Prefix each line with its time")
	cmd.Flags().Int64Var(&o.TailLines, "tail", 0, "Lines of each attempt to show from its end (0 = all)")
	return cmd
}

// Run resolves the run and prints its logs.
func (o *LogsOptions) Run(ctx context.Context) error {
	t, err := resolveTarget(o.flags)
	if err != nil {
		return err
	}
	name, err := run.Resolve(ctx, t.Client, t.Namespace, o.Name)
	if err != nil {
		return err
	}
	o.AllAttempts = !o.Latest
	return run.Logs(ctx, t.Client, t.Namespace, name, o.LogOptions, o.Out)
}
