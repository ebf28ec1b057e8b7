package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// Exit codes of `run --wait` / `run --follow` (documented in the help).
const (
	ExitTimeout     = 124 // the run did not finish within its timeout
	ExitImagePull   = 125 // the image could not be pulled
	ExitWaitTimeout = 126 // --wait-timeout passed; the run goes on
	ExitCancelled   = 130 // the run was cancelled
	// ExitUnavailable (sysexits' EX_TEMPFAIL) is any command's exit when the
	// API server could not be reached or could not answer for now: refused,
	// reset, timed out, 429/503/504. Retrying may succeed; a retried trigger
	// should pass the same --idempotency-key, as the first may have started
	// its run before the answer was lost.
	ExitUnavailable = 75
)

// RunOptions trigger a run of a job.
type RunOptions struct {
	Job string
	// Params are the parameter flags: --param, --param-file, --param-from-env.
	Params runParams
	Tag    string
	// Tasks overrides the job's number of tasks for this run.
	Tasks int32
	// IdempotencyKey returns the run made with it, if it still exists.
	IdempotencyKey string
	Wait           bool
	Follow         bool
	PullTimeout    time.Duration
	WaitTimeout    time.Duration
	Output         string

	flags  *genericclioptions.ConfigFlags
	engine run.NewEngine // triggers runs, deletes jobs (helmrun.New, from main)
	dryRun dryRun
	params map[string]string
	// lookupEnv reads --param-from-env variables (os.LookupEnv if nil).
	lookupEnv func(string) (string, bool)
	target    target
	genericiooptions.IOStreams
}

func newRunCmd(flags *genericclioptions.ConfigFlags, engine run.NewEngine, streams genericiooptions.IOStreams) *cobra.Command {
	o := &RunOptions{flags: flags, engine: engine, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "run JOB [--param NAME=VALUE]... [--tag TAG]",
		Short: "Trigger a run of a job",
		Long: `Trigger a run of a job: a Helm release upgrade that renders a new batch/v1 Job from
the job's definition as it is now. Parameters override the job's defaults; unknown
parameters and missing required ones are errors.

With --wait (or --follow, which also streams the logs) the command waits for the
run to finish and exits with:
  0    the run succeeded
  N    the run failed with exit code N (its container's exit code)
  124  the run did not finish within its timeout
  125  the image could not be pulled (for --pull-timeout)
  126  --wait-timeout passed before the run finished (it goes on)
  130  the run was cancelled
  75   the API server could not be reached or answer for now (retry with the same
       --idempotency-key; any command exits 75 for this)
  1    kubectl-shipjob itself failed (bad input, other API errors)`,
		Example: `  # Trigger a run with the job's default parameters
  kubectl shipjob run migrate

  # Override a parameter and the image tag for this run, wait for the result
  kubectl shipjob run migrate --param TARGET=v42 --tag 1.5 --wait

  # Stream the logs and exit with the run's exit code
  kubectl shipjob run migrate --follow

  # Show what would be applied
  kubectl shipjob run migrate --dry-run=client -o yaml`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeJobName(flags),
		RunE:              runE(o),
	}
	o.addFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("param", completeParams(flags))
	return cmd
}

// Complete parses flags into the trigger request.
func (o *RunOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Job = args[0]
	lookup := o.lookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var err error
	if o.params, err = o.Params.read(lookup); err != nil {
		return err
	}
	if o.Follow {
		o.Wait = true
	}
	o.target, err = resolveTarget(o.flags)
	return err
}

// Validate checks flag combinations.
func (o *RunOptions) Validate() error {
	if err := checkFormat(o.Output, "name", "yaml", "json"); err != nil {
		return err
	}
	if o.Wait && o.dryRun != dryRunNone {
		return errors.New("--wait and --follow cannot be used with --dry-run")
	}
	if o.PullTimeout <= 0 {
		return errors.New("--pull-timeout must be positive")
	}
	if o.WaitTimeout < 0 {
		return errors.New("--wait-timeout must not be negative")
	}
	return nil
}

// Run triggers the run, then optionally waits and follows it.
func (o *RunOptions) Run(ctx context.Context) error {
	return o.trigger(ctx, run.Request{Namespace: o.target.Namespace, Job: o.Job, Params: o.params, Tag: o.Tag})
}

func (o *RunOptions) print(res *run.Result) error {
	switch o.Output {
	case "yaml":
		_, err := fmt.Fprint(o.Out, res.Manifest)
		return err
	case "json":
		return printManifestJSON(o.Out, res.Manifest)
	case "name":
		_, err := fmt.Fprintf(o.Out, "run.shipjob.dev/%s\n", res.Run)
		return err
	}
	op := "created"
	if res.Unchanged {
		op = "unchanged"
	}
	_, err := fmt.Fprintf(o.Out, "run.shipjob.dev/%s %s%s\n", res.Run, op, o.dryRun.suffix())
	return err
}

func (o *RunOptions) waitFor(ctx context.Context, name string) error {
	client, ns := o.target.Client, o.target.Namespace
	if o.WaitTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.WaitTimeout)
		defer cancel()
	}
	if o.Follow {
		err := run.Logs(ctx, client, ns, name, run.LogOptions{Follow: true, AllAttempts: true}, o.Out)
		if err != nil {
			return o.waitErr(ctx, name, err)
		}
	}
	progress := newProgress(o.ErrOut, o.Follow)
	st, err := run.Wait(ctx, client, ns, name, run.WaitOptions{PullTimeout: o.PullTimeout, OnChange: progress.show})
	progress.done()
	if err != nil {
		return o.waitErr(ctx, name, err)
	}
	return finalExit(o.ErrOut, st)
}

// waitErr maps the end of --wait-timeout to its exit code.
func (o *RunOptions) waitErr(ctx context.Context, name string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &ExitError{Code: ExitWaitTimeout, Err: fmt.Errorf("run %s did not finish within --wait-timeout %s; it goes on (kubectl shipjob runs)", name, o.WaitTimeout)}
	}
	return err
}
