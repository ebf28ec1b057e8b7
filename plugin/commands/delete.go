package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/storage/driver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	DryRun         string

	flags  *genericclioptions.ConfigFlags
	target target
	dryRun dryRun
	// uninstall removes the job's Helm release; a missing one is fine (a
	// test seam).
	uninstall func(name string, dry bool) error
	genericiooptions.IOStreams
}

func newDeleteCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DeleteOptions{flags: flags, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "delete NAME|run/RUN [...]",
		Short: "Delete jobs (with their Helm release and runs) or single runs",
		Long: `Delete job definitions. Each job's Helm release is uninstalled and, unless
--keep-runs is given, its runs are deleted with their pods and files. Kept runs
are removed when their retention ends.

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
	addDryRunFlag(cmd, &o.DryRun)
	return cmd
}

// Complete resolves the names, namespace and client.
func (o *DeleteOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Names = args
	var err error
	if o.dryRun, err = parseDryRun(o.DryRun); err != nil {
		return err
	}
	if o.target, err = resolveTarget(o.flags); err != nil {
		return err
	}
	if o.uninstall == nil {
		o.uninstall = o.helmUninstall
	}
	return nil
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

// deleteRun deletes one run.
func (o *DeleteOptions) deleteRun(ctx context.Context, name string) error {
	if o.dryRun != dryRunClient {
		if err := run.Delete(ctx, o.target.Client, o.target.Namespace, name, o.dryRun.writeOptions().DryRun); err != nil {
			return err
		}
	} else if _, err := run.Get(ctx, o.target.Client, o.target.Namespace, name); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "run.shipjob.dev/%s deleted%s\n", name, o.dryRun.suffix())
	return nil
}

// Run deletes each job; one that fails does not stop the others.
func (o *DeleteOptions) Run(ctx context.Context) error {
	var errs []error
	for _, name := range o.Names {
		del := o.delete
		if r, ok := runArg(name); ok {
			name, del = r, o.deleteRun
		}
		if err := del(ctx, strings.TrimPrefix(name, "job/")); err != nil {
			if o.IgnoreNotFound && apierrors.IsNotFound(err) {
				continue
			}
			errs = append(errs, err)
		}
	}
	return reportErrors(o.ErrOut, errs)
}

// delete removes runs and release first and the definition last, so a
// failed delete can be retried.
func (o *DeleteOptions) delete(ctx context.Context, name string) error {
	store := o.target.store(false)
	if _, err := store.Get(ctx, name); err != nil {
		return err
	}
	if err := o.uninstall(name, o.dryRun != dryRunNone); err != nil {
		return err
	}
	runs := -1
	if !o.KeepRuns {
		n, err := o.deleteRuns(ctx, name)
		if err != nil {
			return err
		}
		runs = n
	}
	if o.dryRun != dryRunClient {
		if err := store.Delete(ctx, name, o.dryRun.writeOptions()); err != nil {
			return err
		}
	}
	note := ""
	switch {
	case runs < 0:
		note = " (runs kept)"
	case runs == 1:
		note = " (1 run deleted)"
	case runs > 1:
		note = fmt.Sprintf(" (%d runs deleted)", runs)
	}
	fmt.Fprintf(o.Out, "job.shipjob.dev/%s deleted%s%s\n", name, o.dryRun.suffix(), note)
	return nil
}

// deleteRuns deletes the job's run Jobs (their pods go with them) and their
// files Secrets, and returns how many runs there were.
func (o *DeleteOptions) deleteRuns(ctx context.Context, name string) (int, error) {
	ns, c := o.target.Namespace, o.target.Client
	sel := metav1.ListOptions{LabelSelector: run.Selector(name)}
	jobs, err := c.BatchV1().Jobs(ns).List(ctx, sel)
	if err != nil {
		return 0, fmt.Errorf("list runs of %s: %w", name, err)
	}
	if o.dryRun == dryRunClient {
		return len(jobs.Items), nil
	}
	background := metav1.DeletePropagationBackground
	del := metav1.DeleteOptions{PropagationPolicy: &background, DryRun: o.dryRun.writeOptions().DryRun}
	for _, j := range jobs.Items {
		err := c.BatchV1().Jobs(ns).Delete(ctx, j.Name, del)
		if err != nil && !apierrors.IsNotFound(err) { // NotFound: its retention ended meanwhile
			return 0, fmt.Errorf("delete run %s: %w", j.Name, err)
		}
	}
	files := metav1.ListOptions{LabelSelector: run.LabelKind + "=" + run.KindRunFiles + "," + run.LabelJob + "=" + name}
	secrets, err := c.CoreV1().Secrets(ns).List(ctx, files)
	if err != nil {
		return 0, fmt.Errorf("list run files of %s: %w", name, err)
	}
	for _, s := range secrets.Items {
		err := c.CoreV1().Secrets(ns).Delete(ctx, s.Name, metav1.DeleteOptions{DryRun: del.DryRun})
		if err != nil && !apierrors.IsNotFound(err) {
			return 0, fmt.Errorf("delete run files %s: %w", s.Name, err)
		}
	}
	return len(jobs.Items), nil
}

// helmUninstall uninstalls the job's release (named like the job); runs
// survive it (they carry helm.sh/resource-policy: keep).
func (o *DeleteOptions) helmUninstall(name string, dry bool) error {
	u := action.NewUninstall(run.HelmConfig(o.flags, o.target.Client, o.target.Namespace))
	u.IgnoreNotFound, u.DryRun = true, dry
	if _, err := u.Run(name); err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		return fmt.Errorf("uninstall the Helm release of job %s: %w", name, err)
	}
	return nil
}
