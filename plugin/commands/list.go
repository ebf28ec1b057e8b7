package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// ListOptions list job definitions with the status of their last run.
type ListOptions struct {
	AllNamespaces bool
	Selector      string
	PrintFlags    *jobPrintFlags

	flags   *genericclioptions.ConfigFlags
	target  target
	printer printers.ResourcePrinter
	genericiooptions.IOStreams
}

func newListCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ListOptions{flags: flags, PrintFlags: newJobPrintFlags(), IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "list [flags]",
		Aliases: []string{"ls"},
		Short:   "List job definitions and the status of their last run",
		Example: `  kubectl shipjob list
  kubectl shipjob ls -A -o wide
  kubectl shipjob list -l team=data -o name
  kubectl shipjob list -o custom-columns=NAME:.metadata.name,TIMEOUT:.spec.timeout
  kubectl shipjob list -o jsonpath='{.items[*].metadata.name}'`,
		Args: cobra.NoArgs,
		RunE: runE(o),
	}
	o.PrintFlags.addFlags(cmd)
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "List jobs in all namespaces.")
	cmd.Flags().StringVarP(&o.Selector, "selector", "l", "", "Label selector over the jobs' labels, e.g. -l team=data,tier!=batch.")
	return cmd
}

// Complete resolves the namespace, client and printer.
func (o *ListOptions) Complete(cmd *cobra.Command, args []string) error {
	var err error
	if o.printer, err = o.PrintFlags.toPrinter(o.AllNamespaces); err != nil {
		return err
	}
	o.target, err = resolveTarget(o.flags)
	return err
}

// Validate has nothing left to check: the selector is parsed by the store.
func (o *ListOptions) Validate() error { return nil }

// Run lists the jobs (one request) and their runs (two), sorted by
// namespace and name.
func (o *ListOptions) Run(ctx context.Context) error {
	jobs, err := o.target.store(o.AllNamespaces).List(ctx, o.Selector)
	if err != nil {
		return err
	}
	if len(jobs) == 0 && o.PrintFlags.table() {
		if o.AllNamespaces {
			fmt.Fprintln(o.ErrOut, "No resources found")
		} else {
			fmt.Fprintf(o.ErrOut, "No resources found in %s namespace.\n", o.target.Namespace)
		}
		return nil
	}
	if len(jobs) > 0 {
		ns := o.target.Namespace
		if o.AllNamespaces {
			ns = ""
		}
		runs, err := run.List(ctx, o.target.Client, ns, "")
		if err != nil {
			return err
		}
		attachStatus(jobs, runs)
	}
	view := newScheduleView(ctx, o.target.Client, o.target.Namespace, jobs, o.ErrOut)
	return withSchedules(o.printer, view).PrintObj(jobdef.NewList(jobs), o.Out)
}
