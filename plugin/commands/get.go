package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// GetOptions print job definitions in their typed form.
type GetOptions struct {
	Names      []string
	PrintFlags *jobPrintFlags

	flags   *genericclioptions.ConfigFlags
	target  target
	printer printers.ResourcePrinter
	genericiooptions.IOStreams
}

func newGetCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &GetOptions{flags: flags, PrintFlags: newJobPrintFlags(), IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "get NAME [NAME...] [flags]",
		Short: "Show job definitions (-o yaml prints the form 'apply -f' reads)",
		Long: `Show job definitions. With -o yaml or -o json it prints the typed object
(apiVersion shipjob.dev/v1alpha1, kind Job, metadata, spec, and the status of the
last run) that 'kubectl shipjob apply -f' reads back, so definitions can live in Git.
Several names print a JobList.`,
		Example: `  kubectl shipjob get migrate
  kubectl shipjob get migrate -o yaml > migrate.yaml
  kubectl shipjob get migrate -o yaml | kubectl shipjob apply -f -
  kubectl shipjob get migrate report -o jsonpath='{.items[*].spec.image}'`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeJobNames(flags),
		RunE:              runE(o),
	}
	o.PrintFlags.addFlags(cmd)
	return cmd
}

// Complete resolves the names, namespace, client and printer.
func (o *GetOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Names = args
	var err error
	if o.printer, err = o.PrintFlags.toPrinter(false); err != nil {
		return err
	}
	o.target, err = resolveTarget(o.flags)
	return err
}

// Validate checks the names.
func (o *GetOptions) Validate() error {
	for _, n := range o.Names {
		if err := jobdef.ValidateName(n); err != nil {
			return err
		}
	}
	return nil
}

// Run reads the jobs and their last runs and prints them; a missing job is
// a NotFound error after the others are printed.
func (o *GetOptions) Run(ctx context.Context) error {
	store := o.target.store(false)
	var jobs []jobdef.Job
	var errs []error
	for _, name := range o.Names {
		j, err := store.Get(ctx, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		// Shown all the same (to be fixed with edit or apply), marked.
		if err := j.CheckStored(); err != nil {
			j.Status = &jobdef.Status{Invalid: err.Error()}
			fmt.Fprintf(o.ErrOut, "Warning: %v\n", err)
		}
		jobs = append(jobs, *j)
	}
	if len(jobs) > 0 {
		runsOf := ""
		if len(o.Names) == 1 {
			runsOf = o.Names[0]
		}
		runs, err := run.List(ctx, o.target.Client, o.target.Namespace, runsOf)
		if err != nil {
			return err
		}
		attachStatus(jobs, runs)
		var obj runtime.Object = jobdef.NewList(jobs)
		if len(o.Names) == 1 {
			obj = &jobs[0]
		}
		view := newScheduleView(ctx, o.target.Client, o.target.Namespace, jobs, o.ErrOut)
		if err := withSchedules(o.printer, view).PrintObj(obj, o.Out); err != nil {
			return err
		}
		if len(o.Names) == 1 && o.PrintFlags.table() && len(jobs[0].Spec.Parameters) > 0 {
			if err := printParameters(o.Out, jobs[0].Spec.Parameters); err != nil {
				return err
			}
		}
		if len(o.Names) == 1 && o.PrintFlags.table() {
			if err := view.printSchedules(o.Out, &jobs[0], runs); err != nil {
				return err
			}
		}
	}
	return reportErrors(o.ErrOut, errs)
}
