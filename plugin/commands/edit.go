package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/cmd/util/editor"
	"sigs.k8s.io/yaml"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// EditOptions edit a job in $KUBE_EDITOR or $EDITOR, like kubectl edit.
type EditOptions struct {
	Name string

	flags  *genericclioptions.ConfigFlags
	target target
	dryRun dryRun
	// edit opens the text in an editor and returns what was saved and the
	// temp file (a test seam).
	edit func(text []byte) (saved []byte, file string, err error)
	genericiooptions.IOStreams
}

func newEditCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &EditOptions{flags: flags, IOStreams: streams, edit: launchEditor}
	cmd := &cobra.Command{
		Use:   "edit NAME",
		Short: "Edit a job definition in your editor",
		Long: `Edit a job definition as YAML in the editor named by KUBE_EDITOR or EDITOR
(default vi), like kubectl edit. When the result is invalid, the editor opens
again with the error on top; save it unchanged (or empty) to give up. A job
changed by someone else meanwhile is not overwritten.`,
		Example: `  kubectl shipjob edit migrate
  KUBE_EDITOR="code --wait" kubectl shipjob edit migrate`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeJobName(flags),
		RunE:              runE(o),
	}
	addDryRunFlag(cmd, &o.dryRun)
	return cmd
}

func launchEditor(text []byte) ([]byte, string, error) {
	e := editor.NewDefaultEditor([]string{"KUBE_EDITOR", "EDITOR"})
	return e.LaunchTempFile("shipjob-edit-", ".yaml", bytes.NewReader(text))
}

// Complete resolves the name, namespace and client.
func (o *EditOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Name = args[0]
	var err error
	o.target, err = resolveTarget(o.flags)
	return err
}

// Validate checks the name.
func (o *EditOptions) Validate() error { return jobdef.ValidateName(o.Name) }

const editHeader = `# Edit the job definition below. Lines beginning with '#' are ignored, and an
# empty file cancels the edit. If the result is invalid, this file opens again
# with the error on top.
#
`

// Run loops: edit, decode, validate, until the result is valid, unchanged
// or the user gives up; then updates with the version it read.
func (o *EditOptions) Run(ctx context.Context) error {
	store := o.target.store(false)
	orig, err := store.Get(ctx, o.Name)
	if err != nil {
		return err
	}
	shown := orig.DeepCopy()
	shown.Status = nil
	body, err := yaml.Marshal(shown)
	if err != nil {
		return fmt.Errorf("encode job %s: %w", o.Name, err)
	}
	text := append([]byte(editHeader), body...)
	var lastErr error
	var lastSaved []byte
	for {
		saved, file, err := o.edit(text)
		if err != nil {
			return fmt.Errorf("edit job %s: %w", o.Name, err)
		}
		content := withoutComments(saved)
		switch {
		case len(bytes.TrimSpace(content)) == 0:
			fmt.Fprintln(o.Out, "Edit cancelled, saved file was empty.")
			return removeFile(file, nil)
		case lastErr != nil && bytes.Equal(content, lastSaved):
			return removeFile(file, fmt.Errorf("edit cancelled, no valid changes were saved: %w", lastErr))
		case bytes.Equal(content, withoutComments(body)):
			fmt.Fprintln(o.Out, "Edit cancelled, no changes made.")
			return removeFile(file, nil)
		}
		edited, err := o.check(ctx, store, orig, content)
		if err != nil {
			lastErr, lastSaved = err, content
			text = append([]byte(editHeader+"# The job was not saved: "+singleLine(err.Error())+"\n#\n"), content...)
			_ = os.Remove(file)
			continue
		}
		if edited.SameDefinition(orig) {
			fmt.Fprintln(o.Out, "Edit cancelled, no changes made.")
			return removeFile(file, nil)
		}
		edited.ResourceVersion, edited.UID, edited.CreationTimestamp = orig.ResourceVersion, orig.UID, orig.CreationTimestamp
		if o.dryRun != dryRunClient {
			out, err := store.Update(ctx, edited, o.dryRun.writeOptions())
			if err != nil {
				if errors.Is(err, jobdef.ErrConflict) {
					return fmt.Errorf("%w; your changes are saved in %s: run 'kubectl shipjob edit %s' again", err, file, o.Name)
				}
				return fmt.Errorf("%w (your changes are saved in %s)", err, file)
			}
			if err := showSigningSecret(ctx, store, out, o.dryRun, false, o.ErrOut); err != nil {
				return err
			}
		}
		fmt.Fprintf(o.Out, "job.shipjob.dev/%s edited%s\n", o.Name, o.dryRun.suffix())
		return removeFile(file, nil)
	}
}

// check decodes and validates the edited text: one job, same name and
// namespace, registry present.
func (o *EditOptions) check(ctx context.Context, store *jobdef.Store, orig *jobdef.Job, content []byte) (*jobdef.Job, error) {
	jobs, err := jobdef.Decode(bytes.NewReader(content))
	if err != nil {
		return nil, err
	}
	if len(jobs) != 1 {
		return nil, fmt.Errorf("the file must hold exactly one job, found %d", len(jobs))
	}
	j := &jobs[0]
	if j.Name != orig.Name {
		return nil, fmt.Errorf("metadata.name cannot be changed (from %q to %q): create a new job instead", orig.Name, j.Name)
	}
	if j.Namespace != "" && j.Namespace != orig.Namespace {
		return nil, fmt.Errorf("metadata.namespace cannot be changed (from %q to %q)", orig.Namespace, j.Namespace)
	}
	j.Namespace = orig.Namespace
	j.SetDefaults()
	if err := j.Validate(); err != nil {
		return nil, err
	}
	if _, err := jobdef.ToSecret(j); err != nil {
		return nil, err
	}
	if j.Spec.Registry != orig.Spec.Registry {
		if err := checkRegistry(ctx, store, j.Spec.Registry); err != nil {
			return nil, err
		}
	}
	return j, nil
}

// withoutComments drops the lines starting with '#' in the first column:
// YAML comments, never lines of an (indented) file content.
func withoutComments(b []byte) []byte {
	var out []string
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return []byte(strings.Join(out, ""))
}

func removeFile(path string, err error) error {
	if path != "" {
		_ = os.Remove(path)
	}
	return err
}
