package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// DeleteOptions delete jobs: their runs (unless kept), Helm release and
// definition.
type DeleteOptions struct {
	Names          []string
	KeepRuns       bool
	IgnoreNotFound bool

	flags  *genericclioptions.ConfigFlags
	engine run.NewEngine // triggers runs, deletes jobs (helmrun.New, from main)
	target target
	dryRun dryRun
	genericiooptions.IOStreams
}

func newDeleteCmd(flags *genericclioptions.ConfigFlags, engine run.NewEngine, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DeleteOptions{flags: flags, engine: engine, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "delete NAME|run/RUN [...]",
		Short: "Delete jobs (with their Helm release and runs) or single runs",
		Long: `Delete job definitions. Unless --keep-runs is given, each job's runs are
deleted with their pods and files; then its Helm release records (of the run
chart only: an application's release of the same name is left alone) and its
signing secret, and last its definition. Kept runs are removed when their
retention ends. Helm's uninstall is never run: nothing a release record lists
is deleted.

Arguments of the form run/RUN delete single runs (their Job, pods and files),
finished or not.`,
		Example: `  kubectl shipjob delete migrate
  kubectl shipjob delete migrate report --keep-runs
  kubectl shipjob delete run/migrate-09xi5scrch
  kubectl shipjob delete migrate --dry-run=server`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeJobNames(flags),
		RunE:              runE(o),
	}
	cmd.Flags().BoolVar(&o.KeepRuns, "keep-runs", false, "Leave the job's runs until their retention ends.")
	cmd.Flags().BoolVar(&o.IgnoreNotFound, "ignore-not-found", false, "Treat a missing job as a successful delete.")
	addDryRunFlag(cmd, &o.dryRun)
	return cmd
}

// Complete resolves the names, namespace and client.
func (o *DeleteOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Names = args
	var err error
	o.target, err = resolveTarget(o.flags)
	return err
}

// Validate checks the names.
func (o *DeleteOptions) Validate() error {
	for _, n := range o.Names {
		if r, ok := runArg(n); ok {
			if r == "" {
				return fmt.Errorf("invalid argument %q: give run/RUN", n)
			}
			continue
		}
		if err := jobdef.ValidateName(strings.TrimPrefix(n, "job/")); err != nil {
			return err
		}
	}
	return nil
}

// runArg reports whether arg names a run ("run/NAME" or "runs/NAME").
func runArg(arg string) (string, bool) {
	for _, p := range []string{"run/", "runs/", "run.shipjob.dev/"} {
		if r, ok := strings.CutPrefix(arg, p); ok {
			return r, true
		}
	}
	return "", false
}

// Run deletes each job or run; one that fails does not stop the others.
func (o *DeleteOptions) Run(ctx context.Context) error {
	var errs []error
	for _, name := range o.Names {
		var err error
		if r, ok := runArg(name); ok {
			err = deleteRun(ctx, o.target, r, o.dryRun, o.Out)
		} else {
			err = o.delete(ctx, strings.TrimPrefix(name, "job/"))
		}
		if err != nil {
			if o.IgnoreNotFound && apierrors.IsNotFound(err) {
				continue
			}
			errs = append(errs, err)
		}
	}
	return reportErrors(o.ErrOut, errs)
}

// delete deletes one job (run.Engine.DeleteJob) and reports what went with it.
func (o *DeleteOptions) delete(ctx context.Context, name string) error {
	// The same engine configuration as every command's (SHIPJOB_STALE_AFTER
	// included: a delete waits out a pending release like a trigger).
	engine, err := o.target.engine(o.engine)
	if err != nil {
		return err
	}
	res, err := engine.DeleteJob(ctx, o.target.Namespace, name,
		run.DeleteJobOptions{KeepRuns: o.KeepRuns, DryRun: o.dryRun.domain()})
	if err != nil {
		return err
	}
	note := ""
	switch {
	case res.RunsKept:
		note = " (runs kept)"
	case res.Runs == 1:
		note = " (1 run deleted)"
	case res.Runs > 1:
		note = fmt.Sprintf(" (%d runs deleted)", res.Runs)
	}
	fmt.Fprintf(o.Out, "job.shipjob.dev/%s deleted%s%s\n", name, o.dryRun.suffix(), note)
	return nil
}
