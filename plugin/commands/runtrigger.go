package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// What `run` and `rerun` share: their flags, and sending a request through
// the one trigger, then printing, waiting and exiting as `run` documents.

// addFlags adds the trigger's flags (both commands have them all).
func (o *RunOptions) addFlags(cmd *cobra.Command) {
	stringArrayVar(cmd.Flags(), &o.Params.Params, "param", "p", "Parameter NAME=VALUE for this run (repeatable)")
	stringArrayVar(cmd.Flags(), &o.Params.Files, "param-file", "", "Parameter NAME=PATH: the value is the file's content, less one trailing newline; keeps secret values off the command line (repeatable)")
	stringArrayVar(cmd.Flags(), &o.Params.FromEnv, "param-from-env", "", "Parameter NAME=VARIABLE: the value of environment variable VARIABLE (it must be set); keeps secret values off the command line (repeatable)")
	cmd.Flags().StringVar(&o.Tag, "tag", "", "Image tag for this run only")
	cmd.Flags().Int32Var(&o.Tasks, "tasks", 0, "Tasks of this run, as an Indexed Job (0: the job's)")
	cmd.Flags().StringVar(&o.IdempotencyKey, "idempotency-key", "", "While a run made with this key exists, print it (unchanged) instead of starting another; with other parameters or tag it is an error (1-64 of A-Z a-z 0-9 . _ : -)")
	cmd.Flags().BoolVarP(&o.Wait, "wait", "w", false, "Wait for the run to finish and exit with its result")
	cmd.Flags().BoolVarP(&o.Follow, "follow", "f", false, "Stream the run's logs until it finishes (implies --wait)")
	cmd.Flags().DurationVar(&o.PullTimeout, "pull-timeout", 2*time.Minute, "With --wait: give up when the image could not be pulled for this long")
	cmd.Flags().DurationVar(&o.WaitTimeout, "wait-timeout", 0, "With --wait: stop waiting after this long (0 = until the run ends)")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: name, yaml or json (the applied manifest)")
	addDryRunFlag(cmd, &o.dryRun)
}

// trigger sends req, with the flags' idempotency key and dry run and the
// user as its trigger, through the run.Engine; prints the run, and
// with --wait or --follow waits for it and returns its exit.
func (o *RunOptions) trigger(ctx context.Context, req run.Request) error {
	t, err := o.target.engine(o.engine)
	if err != nil {
		return err
	}
	req.IdempotencyKey, req.DryRun, req.Tasks = o.IdempotencyKey, o.dryRun.domain(), o.Tasks
	if o.dryRun == dryRunClient {
		req.TriggeredBy = "user:(dry run)"
	} else {
		req.TriggeredBy = o.target.whoAmI(ctx)
	}
	res, err := t.Trigger(ctx, req)
	var missing *run.MissingParamError
	if errors.As(err, &missing) {
		// The domain names the parameter; the CLI says how to give it.
		return fmt.Errorf("%w (give --param %s=VALUE)", err, missing.Param)
	}
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
