package commands

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/util/retry"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// SetOptions change single fields of a stored job.
type SetOptions struct {
	jobWrite
	genericiooptions.IOStreams
}

func newSetCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &SetOptions{jobWrite: jobWrite{flags: flags}, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "set NAME [flags] [-- COMMAND [ARGS...]]",
		Short: "Change single fields of a job definition",
		Long: `Change single fields of a job definition; fields whose flags are not given stay
as they are. --env, --param, --required-param, --file and --label add or replace
one entry; --unset-* remove one. --image-pull-secret, --env-from-secret and --arg
replace their list (give an empty value to clear it). --image with a tag or digest
sets those too. A concurrent change is retried on a fresh read, never overwritten.`,
		Example: `  kubectl shipjob set migrate --tag 1.5
  kubectl shipjob set migrate --env LOG_LEVEL=debug --unset-env OLD --timeout none
  kubectl shipjob set report --param MONTH=last --required-param RECIPIENT --memory 1Gi
  kubectl shipjob set migrate -- ./migrate up --verbose`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeJobName(flags),
		RunE:              runE(o),
	}
	o.jobWrite.addFlags(cmd, true)
	return cmd
}

// Complete reads the name, a command after "--", the namespace and client.
func (o *SetOptions) Complete(cmd *cobra.Command, args []string) error {
	return o.complete(cmd, args)
}

// Validate requires at least one change.
func (o *SetOptions) Validate() error {
	if err := jobdef.ValidateName(o.Name); err != nil {
		return err
	}
	if !o.Job.given() {
		return errNoChanges
	}
	return nil
}

// Run reads the job, changes it, validates it and updates it, retrying on
// a conflict with a fresh read.
func (o *SetOptions) Run(ctx context.Context) error {
	store := o.target.store(false)
	var out *jobdef.Job
	op := "updated"
	err := retry.OnError(retry.DefaultRetry, func(err error) bool { return errors.Is(err, jobdef.ErrConflict) }, func() error {
		j, err := store.Get(ctx, o.Name)
		if err != nil {
			return err
		}
		changed, err := o.change(j)
		if err != nil {
			return err
		}
		if changed.SameDefinition(j) {
			op, out = "unchanged", j
			return nil
		}
		if changed.Spec.Registry != j.Spec.Registry {
			if err := checkRegistry(ctx, store, changed.Spec.Registry); err != nil {
				return err
			}
		}
		out = changed
		if o.dryRun != dryRunClient {
			out, err = store.Update(ctx, changed, o.dryRun.writeOptions())
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := showSigningSecret(ctx, store, out, o.dryRun, o.Job.RotateSigningSecret, o.ErrOut); err != nil {
		return err
	}
	return printObject(o.PrintFlags, op, o.dryRun, out, o.Out)
}

// change returns a validated copy of j with the flags applied (pure but
// for reading --file contents).
func (o *SetOptions) change(j *jobdef.Job) (*jobdef.Job, error) {
	c := j.DeepCopy()
	if err := o.Job.apply(c); err != nil {
		return nil, err
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, withFlagHint(err)
	}
	if _, err := jobdef.ToSecret(c); err != nil {
		return nil, err
	}
	return c, nil
}
