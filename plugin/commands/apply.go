package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// ApplyOptions create or update jobs from their typed form.
type ApplyOptions struct {
	Filenames  []string
	Recursive  bool
	PrintFlags *genericclioptions.PrintFlags

	flags  *genericclioptions.ConfigFlags
	target target
	dryRun dryRun
	jobs   []jobdef.Job
	genericiooptions.IOStreams
}

func newApplyCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ApplyOptions{flags: flags, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "apply -f FILENAME [flags]",
		Short: "Create or update jobs from YAML or JSON (files, directories, stdin)",
		Long: `Create or update job definitions from the form 'kubectl shipjob get -o yaml'
prints (apiVersion shipjob.dev/v1alpha1, kind Job or JobList). Several documents
may be separated by '---'. Decoding is strict: unknown fields, another apiVersion
or kind are rejected. status, uid, resourceVersion and creationTimestamp are
ignored. A job whose definition would not change is reported unchanged and not
written. All documents are validated before anything is written.`,
		Example: `  kubectl shipjob apply -f migrate.yaml
  kubectl shipjob apply -f jobs/ -R
  kubectl shipjob get migrate -o yaml | kubectl shipjob apply -f -
  kubectl shipjob apply -f migrate.yaml --dry-run=server`,
		Args: cobra.NoArgs,
		RunE: runE(o),
	}
	stringSliceVar(cmd.Flags(), &o.Filenames, "filename", "f", "Files or directories (.yaml, .yml, .json) to apply, or - for stdin.")
	cmd.Flags().BoolVarP(&o.Recursive, "recursive", "R", false, "Process the directories given with -f recursively.")
	addDryRunFlag(cmd, &o.dryRun)
	o.PrintFlags = writePrintFlags(cmd)
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

// Complete reads and decodes every input and puts each job in its
// namespace.
func (o *ApplyOptions) Complete(cmd *cobra.Command, args []string) error {
	if err := checkOutput(o.PrintFlags); err != nil {
		return err
	}
	var err error
	if o.target, err = resolveTarget(o.flags); err != nil {
		return err
	}
	for _, name := range o.Filenames {
		if err := o.read(name); err != nil {
			return err
		}
	}
	return nil
}

func (o *ApplyOptions) read(name string) error {
	if name == "-" {
		return o.decode("stdin", o.In)
	}
	info, err := os.Stat(name)
	if err != nil {
		return fmt.Errorf("the path %q does not exist", name)
	}
	if !info.IsDir() {
		return o.decodeFile(name)
	}
	return filepath.WalkDir(name, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return fmt.Errorf("read %s: %w", path, err)
		case d.IsDir() && path != name && !o.Recursive:
			return filepath.SkipDir
		case d.IsDir():
			return nil
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			return o.decodeFile(path)
		}
		return nil
	})
}

func (o *ApplyOptions) decodeFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	return o.decode(path, f)
}

// decode adds the jobs of one source, defaulted, validated and in their
// namespace (kubectl's rule: a namespace in the object must match -n).
func (o *ApplyOptions) decode(source string, r io.Reader) error {
	jobs, err := jobdef.Decode(r)
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	for i := range jobs {
		j := &jobs[i]
		switch {
		case j.Namespace == "":
			j.Namespace = o.target.Namespace
		case o.target.ExplicitNamespace && j.Namespace != o.target.Namespace:
			return fmt.Errorf("%s: the namespace from the provided object %q does not match the namespace %q. You must pass '--namespace=%s' to perform this operation.",
				source, j.Namespace, o.target.Namespace, j.Namespace)
		}
		j.SetDefaults()
		if err := j.Validate(); err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		if _, err := jobdef.ToSecret(j); err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		for _, seen := range o.jobs {
			if seen.Namespace == j.Namespace && seen.Name == j.Name {
				return fmt.Errorf("%s: job %s/%s is given twice", source, j.Namespace, j.Name)
			}
		}
		o.jobs = append(o.jobs, *j)
	}
	return nil
}

// Validate requires at least one job.
func (o *ApplyOptions) Validate() error {
	if len(o.jobs) == 0 {
		return errors.New("no jobs found in " + strings.Join(o.Filenames, ", "))
	}
	return nil
}

// Run checks every registry, then creates or updates each job that
// changed.
func (o *ApplyOptions) Run(ctx context.Context) error {
	for i := range o.jobs {
		store := &jobdef.Store{Client: o.target.Client, Namespace: o.jobs[i].Namespace}
		if err := checkRegistry(ctx, store, o.jobs[i].Spec.Registry); err != nil {
			return err
		}
	}
	for i := range o.jobs {
		if err := o.apply(ctx, &o.jobs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (o *ApplyOptions) apply(ctx context.Context, j *jobdef.Job) error {
	store := &jobdef.Store{Client: o.target.Client, Namespace: j.Namespace}
	live, err := store.Get(ctx, j.Name)
	op, out := "created", j
	switch {
	case apierrors.IsNotFound(err):
		if o.dryRun != dryRunClient {
			out, err = store.Create(ctx, j, o.dryRun.writeOptions())
		}
	case err != nil:
		return err
	case live.SameDefinition(j):
		op, out = "unchanged", live
	default:
		op = "configured"
		j.ResourceVersion, j.UID, j.CreationTimestamp = live.ResourceVersion, live.UID, live.CreationTimestamp
		if o.dryRun != dryRunClient {
			out, err = store.Update(ctx, j, o.dryRun.writeOptions())
		}
	}
	if err != nil {
		return err
	}
	if err := showSigningSecret(ctx, store, out, o.dryRun, false, o.ErrOut); err != nil {
		return err
	}
	return printObject(o.PrintFlags, op, o.dryRun, out, o.Out)
}
