package commands

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

func newHookCmd(flags *genericclioptions.ConfigFlags, engine run.NewEngine, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "hook",
		Aliases: []string{"hooks"},
		Short:   "Manage deploy hooks: tokens that trigger runs of a job over HTTP",
		Long: `A deploy hook is a token that triggers runs of one job through the hook server
('kubectl shipjob hooks serve'), with Shipmight's deploy hook API:

  curl -X POST -H 'Content-Type: application/json' -H "X-Deploy-Hook-Token: $TOKEN" \
    --data '{"instanceEnvironmentVariables":[{"name":"TARGET","value":"v42"}],"imageTag":"1.5"}' \
    https://<hook server>/api/v1/dh

The token is shown once, at creation; only its SHA-256 is stored. Deleting a hook
invalidates its token at once. Deleting the job deletes its hooks.`,
	}
	cmd.AddCommand(newHookCreateCmd(flags, streams), newHookListCmd(flags, streams),
		newHookDeleteCmd(flags, streams), newHooksServeCmd(flags, engine, streams))
	return cmd
}

// HookCreateOptions create a hook and print its token once.
type HookCreateOptions struct {
	Job, Name  string
	PrintFlags *genericclioptions.PrintFlags

	flags  *genericclioptions.ConfigFlags
	target target
	genericiooptions.IOStreams
}

func newHookCreateCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &HookCreateOptions{flags: flags, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "create JOB --name NAME",
		Short: "Create a deploy hook for a job and print its token (shown only now)",
		Example: `  kubectl shipjob hook create migrate --name "CI on main"
  TOKEN=$(kubectl shipjob hook create migrate --name "GitHub Actions" -o jsonpath='{.token}')`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeJobName(flags),
		RunE:              runE(o),
	}
	cmd.Flags().StringVar(&o.Name, "name", "", `Descriptive name, e.g. "CI on main" (required; cannot be changed)`)
	o.PrintFlags = writePrintFlags(cmd)
	return cmd
}

// Complete resolves the job, namespace and client.
func (o *HookCreateOptions) Complete(_ *cobra.Command, args []string) error {
	o.Job = args[0]
	var err error
	o.target, err = resolveTarget(o.flags)
	return err
}

// Validate checks the job's name and the output format (the hook store
// checks the hook's name).
func (o *HookCreateOptions) Validate() error {
	if err := jobdef.ValidateName(o.Job); err != nil {
		return err
	}
	return checkOutput(o.PrintFlags)
}

// Run creates the hook (the job must exist).
func (o *HookCreateOptions) Run(ctx context.Context) error {
	store := &hook.Store{Client: o.target.Client, Namespace: o.target.Namespace}
	h, err := store.Create(ctx, o.Job, o.Name, run.WhoAmI(ctx, o.target.Client))
	if err != nil {
		return withFlag(err, map[string]string{hook.NameField: "--name"})
	}
	if o.PrintFlags.OutputFormat != nil && *o.PrintFlags.OutputFormat != "" {
		return printObject(o.PrintFlags, "created", dryRunNone, h, o.Out)
	}
	fmt.Fprintf(o.Out, "hook.shipjob.dev/%s created\ntoken: %s\n", h.Name, h.Token)
	fmt.Fprintf(o.ErrOut, "The token is shown only now: store it as a secret of your CI. Each POST to %s\nof the hook server with header %s: <token> triggers a run of job %s.\n",
		hook.TriggerPath, hook.TokenHeader, o.Job)
	return nil
}

// HookListOptions list hooks.
type HookListOptions struct {
	Job           string
	AllNamespaces bool
	Output        string
	NoHeaders     bool
	PrintFlags    *genericclioptions.PrintFlags

	flags  *genericclioptions.ConfigFlags
	target target
	genericiooptions.IOStreams
}

func newHookListCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &HookListOptions{flags: flags, IOStreams: streams, PrintFlags: genericclioptions.NewPrintFlags("")}
	cmd := &cobra.Command{
		Use:     "list [JOB]",
		Aliases: []string{"ls"},
		Short:   "List deploy hooks (of one job, or all) with their last use",
		Example: `  kubectl shipjob hook list
  kubectl shipjob hook list migrate -o wide
  kubectl shipjob hook list -A -o json`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeJobName(flags),
		RunE:              runE(o),
	}
	addOwnOutputFlag(cmd, o.PrintFlags, &o.Output, "Output format: wide, json, yaml, name, jsonpath=..., go-template=...")
	cmd.Flags().BoolVar(&o.NoHeaders, "no-headers", false, "Don't print headers in the table.")
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "List hooks in all namespaces.")
	return cmd
}

// Complete resolves the job, namespace and client.
func (o *HookListOptions) Complete(_ *cobra.Command, args []string) error {
	if len(args) == 1 {
		o.Job = args[0]
	}
	var err error
	o.target, err = resolveTarget(o.flags)
	return err
}

// Validate checks the output format.
func (o *HookListOptions) Validate() error {
	if o.Output == "" || o.Output == "wide" {
		return nil
	}
	o.PrintFlags.OutputFormat = &o.Output
	return checkOutput(o.PrintFlags)
}

// Run lists the hooks (one request).
func (o *HookListOptions) Run(ctx context.Context) error {
	ns := o.target.Namespace
	if o.AllNamespaces {
		ns = ""
	}
	hooks, err := (&hook.Store{Client: o.target.Client, Namespace: ns}).List(ctx, o.Job)
	if err != nil {
		return err
	}
	if o.Output == "" || o.Output == "wide" {
		if len(hooks) == 0 {
			where := "in " + ns + " namespace"
			if ns == "" {
				where = "in any namespace"
			}
			fmt.Fprintf(o.ErrOut, "No hooks found %s.\n", where)
			return nil
		}
		p := printers.NewTablePrinter(printers.PrintOptions{Wide: o.Output == "wide", WithNamespace: o.AllNamespaces, NoHeaders: o.NoHeaders})
		return p.PrintObj(hookTable(hooks, time.Now()), o.Out)
	}
	o.PrintFlags.OutputFormat = &o.Output // also when built without its flags
	p, err := o.PrintFlags.ToPrinter()
	if err != nil {
		return err
	}
	if o.Output == "name" {
		return printEach(p, hooks, o.Out)
	}
	return p.PrintObj(hook.NewList(hooks), o.Out)
}

func printEach(p printers.ResourcePrinter, hooks []hook.Hook, w io.Writer) error {
	for i := range hooks {
		if err := p.PrintObj(&hooks[i], w); err != nil {
			return err
		}
	}
	return nil
}

// hookTable renders hooks as a kubectl table (CREATED BY with -o wide).
func hookTable(hooks []hook.Hook, now time.Time) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "ID", Type: "string", Format: "name"}, {Name: "Name", Type: "string"}, {Name: "Job", Type: "string"},
		{Name: "Created", Type: "string"}, {Name: "Last Used", Type: "string"},
		{Name: "Created By", Type: "string", Priority: 1},
	}}
	for i := range hooks {
		h := &hooks[i]
		used := "<never>"
		if h.Status.LastUsed != nil {
			used = age(*h.Status.LastUsed, now) + " ago"
		}
		t.Rows = append(t.Rows, metav1.TableRow{
			Cells:  []any{h.Name, h.Spec.Name, h.Spec.Job, age(h.CreationTimestamp, now) + " ago", used, orNone(h.Spec.CreatedBy)},
			Object: runtime.RawExtension{Object: h},
		})
	}
	return t
}

// HookDeleteOptions delete hooks.
type HookDeleteOptions struct {
	IDs            []string
	IgnoreNotFound bool

	flags  *genericclioptions.ConfigFlags
	target target
	genericiooptions.IOStreams
}

func newHookDeleteCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &HookDeleteOptions{flags: flags, IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "delete ID...",
		Short:   "Delete deploy hooks; their tokens stop working at once",
		Example: `  kubectl shipjob hook delete k3x9q2m7ab`,
		Args:    cobra.MinimumNArgs(1),
		RunE:    runE(o),
	}
	cmd.Flags().BoolVar(&o.IgnoreNotFound, "ignore-not-found", false, "Treat a missing hook as a successful delete.")
	return cmd
}

// Complete resolves the namespace and client.
func (o *HookDeleteOptions) Complete(_ *cobra.Command, args []string) error {
	o.IDs = args
	var err error
	o.target, err = resolveTarget(o.flags)
	return err
}

// Validate has nothing to check: a malformed id is simply not found.
func (o *HookDeleteOptions) Validate() error { return nil }

// Run deletes each hook; one that fails does not stop the others.
func (o *HookDeleteOptions) Run(ctx context.Context) error {
	store := &hook.Store{Client: o.target.Client, Namespace: o.target.Namespace}
	var errs []error
	for _, arg := range o.IDs {
		id := trimPrefixes(arg, "hook/", "hooks/", "hook.shipjob.dev/")
		err := store.Delete(ctx, id)
		if err == nil {
			fmt.Fprintf(o.Out, "hook.shipjob.dev/%s deleted\n", id)
			continue
		}
		if !(o.IgnoreNotFound && apierrors.IsNotFound(err)) {
			errs = append(errs, err)
		}
	}
	return reportErrors(o.ErrOut, errs)
}

func trimPrefixes(s string, prefixes ...string) string {
	for _, p := range prefixes {
		if len(s) > len(p) && s[:len(p)] == p {
			return s[len(p):]
		}
	}
	return s
}
