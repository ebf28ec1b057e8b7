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
)

// CreateOptions create a job definition. Creating does not run it.
type CreateOptions struct {
	jobWrite
	job *jobdef.Job
	genericiooptions.IOStreams
}

func newCreateCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CreateOptions{jobWrite: jobWrite{flags: flags}, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "create NAME --image IMAGE [flags] [-- COMMAND [ARGS...]]",
		Short: "Create a job definition (it does not run it)",
		Long: `Create a job definition, stored as one Secret in the namespace. Creating a job
does not run it: use 'kubectl shipjob run NAME'. Everything is validated before
anything is written.

Parameter values are recorded in clear on each run (its Job's annotations, its
pod's environment, its Helm release record) unless the parameter is made
secret with --secret-param NAME: its values then reach the container from the
run's own Secret and show as <secret>. Static credentials belong in
--env-from-secret (a Secret you manage) or --file.`,
		Example: `  # A job from a full image reference, with a command
  kubectl shipjob create migrate --image ghcr.io/acme/migrate:1.4 -- ./migrate up

  # An image within a registry added with 'kubectl shipjob registry add acme ...'
  kubectl shipjob create report --registry acme --image reports --tag 2.0 \
    --env REGION=eu --param MONTH=current --required-param RECIPIENT \
    --file /etc/report/config.yaml=./config.yaml --memory 512Mi --cpu 500m --timeout 1h

  # Print what would be stored, without storing it
  kubectl shipjob create migrate --image ghcr.io/acme/migrate:1.4 --dry-run=client -o yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: runE(o),
	}
	o.jobWrite.addFlags(cmd, false)
	return cmd
}

// Complete reads the arguments, the namespace and the local files, and
// builds the job.
func (o *CreateOptions) Complete(cmd *cobra.Command, args []string) error {
	if err := o.complete(cmd, args); err != nil {
		return err
	}
	var err error
	o.job, err = o.build(o.target.Namespace)
	return err
}

// build is the job the flags describe, defaults set (pure but for reading
// --file contents).
func (o *CreateOptions) build(namespace string) (*jobdef.Job, error) {
	if err := jobdef.ValidateName(o.Name); err != nil {
		return nil, err
	}
	j := jobdef.New(namespace, o.Name)
	j.Spec.Tag = "" // a tag from --image or --tag, else the default
	if err := o.Job.apply(j); err != nil {
		return nil, err
	}
	j.SetDefaults()
	return j, nil
}

// Validate checks the whole definition, including that it fits a Secret.
func (o *CreateOptions) Validate() error {
	if err := o.job.Validate(); err != nil {
		return withFlagHint(err)
	}
	_, err := jobdef.ToSecret(o.job)
	return err
}

// Run checks the registry exists, then writes one Secret.
func (o *CreateOptions) Run(ctx context.Context) error {
	out := o.job
	if o.dryRun != dryRunClient {
		store := o.target.store(false)
		if err := checkRegistry(ctx, store, o.job.Spec.Registry); err != nil {
			return err
		}
		var err error
		if out, err = store.Create(ctx, o.job, o.dryRun.writeOptions()); err != nil {
			return err
		}
		if err := showSigningSecret(ctx, store, out, o.dryRun, false, o.ErrOut); err != nil {
			return err
		}
	}
	return printObject(o.PrintFlags, "created", o.dryRun, out, o.Out)
}

// checkRegistry fails with one clear line when a job's registry does not
// exist in the store's namespace.
func checkRegistry(ctx context.Context, store *jobdef.Store, name string) error {
	if name == "" {
		return nil
	}
	_, err := store.GetRegistry(ctx, name)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("registry %q not found in namespace %s: add it with 'kubectl shipjob registry add %s --server ...'", name, store.Namespace, name)
	}
	return err
}

// requiredFlags name the flag that gives a required field of a definition:
// the domain's message names the field, the CLI adds how to give it.
var requiredFlags = map[string]string{"spec.image": "--image"}

// withFlagHint adds the flag to a missing required field's error.
func withFlagHint(err error) error {
	if flag, ok := requiredFlags[jobdef.FieldOf(err)]; ok && strings.HasSuffix(err.Error(), " is required") {
		return fmt.Errorf("%w (%s)", err, flag)
	}
	return err
}
