package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
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
)

// RunOptions trigger a run of a job.
type RunOptions struct {
	Job    string
	Params []string
	Tag    string
	// IdempotencyKey returns the run made with it, if it still exists.
	IdempotencyKey string
	Wait           bool
	Follow         bool
	PullTimeout    time.Duration
	WaitTimeout    time.Duration
	Output         string

	flags  *genericclioptions.ConfigFlags
	dryRun dryRun
	params map[string]string
	target target
	genericiooptions.IOStreams
}

func newRunCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &RunOptions{flags: flags, IOStreams: streams}
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
  1    kubectl-shipjob itself failed (bad input, API errors)`,
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
	cmd.Flags().StringArrayVarP(&o.Params, "param", "p", nil, "Parameter NAME=VALUE for this run (repeatable)")
	_ = cmd.RegisterFlagCompletionFunc("param", completeParams(flags))
	cmd.Flags().StringVar(&o.Tag, "tag", "", "Image tag for this run only")
	cmd.Flags().StringVar(&o.IdempotencyKey, "idempotency-key", "", "While a run made with this key exists, print it (unchanged) instead of starting another; with other parameters or tag it is an error (1-64 of A-Z a-z 0-9 . _ : -)")
	cmd.Flags().BoolVarP(&o.Wait, "wait", "w", false, "Wait for the run to finish and exit with its result")
	cmd.Flags().BoolVarP(&o.Follow, "follow", "f", false, "Stream the run's logs until it finishes (implies --wait)")
	cmd.Flags().DurationVar(&o.PullTimeout, "pull-timeout", 2*time.Minute, "With --wait: give up when the image could not be pulled for this long")
	cmd.Flags().DurationVar(&o.WaitTimeout, "wait-timeout", 0, "With --wait: stop waiting after this long (0 = until the run ends)")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: name, yaml or json (the applied manifest)")
	addDryRunFlag(cmd, &o.dryRun)
	return cmd
}

// Complete parses flags into the trigger request.
func (o *RunOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Job = args[0]
	o.params = map[string]string{}
	for _, p := range o.Params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return fmt.Errorf("invalid --param %q: want NAME=VALUE", p)
		}
		if _, dup := o.params[k]; dup {
			return fmt.Errorf("parameter %q is given twice", k)
		}
		o.params[k] = v
	}
	if o.Follow {
		o.Wait = true
	}
	var err error
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
	stale, err := run.StaleAfterFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	t := &run.Triggerer{Client: o.target.Client, Getter: o.flags, StaleAfter: stale, Clock: o.target.Clock}
	req := run.Request{Namespace: o.target.Namespace, Job: o.Job, Params: o.params, Tag: o.Tag, IdempotencyKey: o.IdempotencyKey,
		DryRun: o.dryRun.domain()}
	if o.dryRun == dryRunClient {
		req.TriggeredBy = "user:(dry run)"
	} else {
		req.TriggeredBy = o.whoAmI(ctx)
	}
	res, err := t.Trigger(ctx, req)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(o.ErrOut, "Warning: %s\n", w)
	}
	if err := o.print(res); err != nil {
		return err
	}
	if !o.Wait {
		return nil
	}
	return o.waitFor(ctx, res.Run)
}

// whoAmI names the user for the run's provenance (cached per credentials).
func (o *RunOptions) whoAmI(ctx context.Context) string {
	cfg, err := o.flags.ToRESTConfig()
	if err != nil {
		return run.WhoAmI(ctx, o.target.Client)
	}
	cacheDir := ""
	if o.flags.CacheDir != nil {
		cacheDir = *o.flags.CacheDir
	}
	return run.WhoAmICached(ctx, o.target.Client, cfg, cacheDir)
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
