package commands

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// jobWrite is what create and set share: a job NAME and its flags (with a
// command after "--"), the dry-run strategy, the output format and where to
// write.
type jobWrite struct {
	Name       string
	Job        jobFlags
	PrintFlags *genericclioptions.PrintFlags

	flags  *genericclioptions.ConfigFlags
	target target
	dryRun dryRun
}

// addFlags registers the job flags (set: as changes), --dry-run and -o.
func (w *jobWrite) addFlags(cmd *cobra.Command, set bool) {
	w.Job.addFlags(cmd.Flags(), set)
	addDryRunFlag(cmd, &w.dryRun)
	w.PrintFlags = writePrintFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("registry", completeRegistryNames(w.flags))
}

// complete reads NAME, a command after "--", the dry-run strategy, the
// output format, the namespace and the client.
func (w *jobWrite) complete(cmd *cobra.Command, args []string) error {
	if dash := cmd.ArgsLenAtDash(); dash >= 0 {
		w.Job.Command, args = args[dash:], args[:dash]
	}
	if len(args) != 1 {
		return fmt.Errorf("exactly one NAME is required (a command goes after '--'), got %d arguments", len(args))
	}
	w.Name = args[0]
	if err := checkOutput(w.PrintFlags); err != nil {
		return err
	}
	var err error
	w.target, err = resolveTarget(w.flags)
	return err
}

// showSigningSecret gives job j (as stored) its notification signing
// secret when it has notifications and none yet, or a new one with rotate,
// and shows it once on w: it is never shown again (a new one needs
// --rotate-signing-secret). A dry run makes none.
func showSigningSecret(ctx context.Context, store *jobdef.Store, j *jobdef.Job, d dryRun, rotate bool, w io.Writer) error {
	if d != dryRunNone {
		return nil
	}
	var secret string
	var err error
	if rotate {
		secret, err = store.RotateSigningSecret(ctx, j, d.writeOptions())
	} else {
		secret, err = store.EnsureSigningSecret(ctx, j, d.writeOptions())
	}
	if err != nil || secret == "" {
		return err
	}
	fmt.Fprintf(w, "Signing secret of job %s's notifications (shown once; receivers verify X-Shipjob-Signature-256 with it): %s\n", j.Name, secret)
	return nil
}
