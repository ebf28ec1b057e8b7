package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// RerunOptions trigger a new run with an earlier run's parameters and
// image tag. Flags, waiting and exit codes are run's.
type RerunOptions struct {
	RunOptions
	// Of is the run to repeat (a job name means its newest run).
	Of string
}

func newRerunCmd(flags *genericclioptions.ConfigFlags, engine run.NewEngine, streams genericiooptions.IOStreams) *cobra.Command {
	o := &RerunOptions{RunOptions: RunOptions{flags: flags, engine: engine, IOStreams: streams}}
	cmd := &cobra.Command{
		Use:   "rerun RUN|JOB [--param NAME=VALUE]... [--tag TAG]",
		Short: "Trigger a new run with an earlier run's parameters and image tag",
		Long: `Trigger a new run of a run's job, through the same trigger as 'run': with the
earlier run's parameters and image tag, --param (--param-file, --param-from-env)
and --tag overriding them, and the job's definition as it is now. The new run
records shipjob.dev/rerun-of: RUN. A job name reruns its newest run.

Secret parameters are carried only if they are secret in the job now, and only
from the run's own Secret; otherwise the rerun stops and asks for the value.

What the definition no longer allows is left out, with a warning on stderr:
parameters it no longer has, and the run's tag when the job's image repository
has changed or the job is now pinned to a digest. A run pinned to a digest is
rerun pinned, to the job's digest. Required parameters the job has gained must
be given with --param.

--wait and --follow wait and exit as with 'run' (see kubectl shipjob run --help).`,
		Example: `  # Repeat a failed run as it was, and wait for its result
  kubectl shipjob rerun migrate-09xi5scrch --wait

  # Repeat the newest run of a job with one parameter changed
  kubectl shipjob rerun migrate --param TARGET=v43

  # Repeat it with another image tag and stream its logs
  kubectl shipjob rerun migrate-09xi5scrch --tag 1.6 --follow`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeJobName(flags),
		RunE:              runE(o),
	}
	o.addFlags(cmd)
	return cmd
}

// Complete takes the run and parses the trigger's flags.
func (o *RerunOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Of = args[0]
	return o.RunOptions.Complete(cmd, args)
}

// Run builds the rerun's request from the earlier run and triggers it.
func (o *RerunOptions) Run(ctx context.Context) error {
	t := o.target
	name, err := run.Resolve(ctx, t.Client, t.Namespace, o.Of)
	if err != nil {
		return err
	}
	req, warnings, err := run.RerunRequest(ctx, t.Client, t.Namespace, name, o.params, o.Tag)
	var secret *run.SecretParamError
	if errors.As(err, &secret) {
		return fmt.Errorf("%w (give --param %s=VALUE, or --param-file or --param-from-env to keep it off the command line)", err, secret.Param)
	}
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(o.ErrOut, "Warning: %s\n", w)
	}
	return o.trigger(ctx, req)
}
