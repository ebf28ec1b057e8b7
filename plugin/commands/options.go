package commands

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// options is what every command's Options implement, in kubectl's order.
type options interface {
	Complete(cmd *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// runE runs o: Complete, Validate, then Run with the command's context.
func runE(o options) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(cmd, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(cmd.Context())
	}
}

// printObject prints obj with pf, reporting op ("created", "configured",
// ...) in the name output, kubectl's default for writes.
func printObject(pf *genericclioptions.PrintFlags, op string, d dryRun, obj runtime.Object, w io.Writer) error {
	pf.NamePrintFlags.Operation = op + d.suffix()
	p, err := pf.ToPrinter()
	if err != nil {
		return err
	}
	return p.PrintObj(obj, w)
}

// writePrintFlags are the -o flags of write commands: the name output by
// default ("job.shipjob.dev/x created"), or json, yaml, jsonpath, ...
func writePrintFlags(cmd *cobra.Command) *genericclioptions.PrintFlags {
	pf := genericclioptions.NewPrintFlags("")
	pf.AddFlags(cmd)
	return pf
}

// checkOutput rejects an unknown -o format before any API request.
func checkOutput(pf *genericclioptions.PrintFlags) error {
	_, err := pf.ToPrinter()
	return err
}

// reportErrors prints all errors kubectl-style and returns an ExitError 1,
// or nil when there are none (commands over several names go on after one
// fails, like kubectl).
func reportErrors(w io.Writer, errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	if len(errs) == 1 {
		return errs[0]
	}
	for _, err := range errs {
		fmt.Fprintln(w, FormatError(err))
	}
	return &ExitError{Code: 1}
}
