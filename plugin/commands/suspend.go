package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/util/retry"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// SuspendOptions suspend or resume a job's schedules.
type SuspendOptions struct {
	Name     string
	Schedule string
	// Resume: resume instead of suspend.
	Resume bool
	genericiooptions.IOStreams

	flags  *genericclioptions.ConfigFlags
	target target
}

func newSuspendCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, resume bool) *cobra.Command {
	o := &SuspendOptions{Resume: resume, IOStreams: streams, flags: flags}
	cmd := &cobra.Command{
		Use:   "suspend NAME [--schedule SCHEDULE]",
		Short: "Stop a job's schedules (all, or one) until resumed",
		Long: `Stop the schedules of a job, or the one given with --schedule: the hook server's
leader triggers no run for them until 'kubectl shipjob resume'. Runs already started go
on, and the job can still be run by hand and by hooks.`,
		Example:           `  kubectl shipjob suspend report --schedule nightly`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeJobName(flags),
		RunE:              runE(o),
	}
	if resume {
		cmd.Use = "resume NAME [--schedule SCHEDULE]"
		cmd.Short = "Resume a job's suspended schedules (all, or one)"
		cmd.Long = `Resume the schedules of a job, or the one given with --schedule: they run again
from their next slot. The slots passed while suspended are not run.`
		cmd.Example = `  kubectl shipjob resume report --schedule nightly`
	}
	cmd.Flags().StringVar(&o.Schedule, "schedule", "", "Only this schedule")
	return cmd
}

// Complete reads the name, the namespace and the client.
func (o *SuspendOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	var err error
	o.target, err = resolveTarget(o.flags)
	return err
}

// Validate checks the names.
func (o *SuspendOptions) Validate() error {
	if err := jobdef.ValidateName(o.Name); err != nil {
		return err
	}
	if o.Schedule != "" {
		return jobdef.ValidateScheduleName(o.Schedule)
	}
	return nil
}

// Run sets suspend on the schedules, retrying on a conflict with a fresh
// read; a job already so is left unchanged.
func (o *SuspendOptions) Run(ctx context.Context) error {
	store := o.target.store(false)
	op := "suspended"
	if o.Resume {
		op = "resumed"
	}
	var changed []string
	err := retry.OnError(retry.DefaultRetry, func(err error) bool { return errors.Is(err, jobdef.ErrConflict) }, func() error {
		j, err := store.GetValid(ctx, o.Name)
		if err != nil {
			return err
		}
		changed = nil
		c, err := o.change(j, &changed)
		if err != nil || len(changed) == 0 {
			return err
		}
		_, err = store.Update(ctx, c, dryRunNone.writeOptions())
		return err
	})
	if err != nil {
		return err
	}
	if len(changed) == 0 {
		fmt.Fprintf(o.Out, "job.%s/%s unchanged\n", jobdef.Group, o.Name)
		return nil
	}
	for _, name := range changed {
		fmt.Fprintf(o.Out, "job.%s/%s schedule %s %s\n", jobdef.Group, o.Name, name, op)
	}
	return nil
}

// change returns a copy of j with its schedules suspended (resumed) and
// the names of those that changed.
func (o *SuspendOptions) change(j *jobdef.Job, changed *[]string) (*jobdef.Job, error) {
	c := j.DeepCopy()
	if len(c.Spec.Schedules) == 0 {
		return nil, fmt.Errorf("job %s has no schedules: add one with 'kubectl shipjob set %s --schedule NAME=CRON'", j.Name, j.Name)
	}
	if o.Schedule != "" && c.Spec.ScheduleNamed(o.Schedule) == nil {
		return nil, fmt.Errorf("job %s has no schedule %q", j.Name, o.Schedule)
	}
	for i := range c.Spec.Schedules {
		sc := &c.Spec.Schedules[i]
		if (o.Schedule == "" || sc.Name == o.Schedule) && sc.Suspend != !o.Resume {
			sc.Suspend = !o.Resume
			*changed = append(*changed, sc.Name)
		}
	}
	return c, nil
}
