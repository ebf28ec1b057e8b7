package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// RegistryOptions add, list and delete registries: pull Secrets
// (kubernetes.io/dockerconfigjson) marked as kubectl-shipjob registries.
type RegistryOptions struct {
	Names         []string
	Server        string
	Username      string
	Password      string
	PasswordStdin bool
	Output        string

	flags  *genericclioptions.ConfigFlags
	target target
	dryRun dryRun
	genericiooptions.IOStreams
}

func newRegistryCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Manage container registries that jobs pull their images from",
		Example: `  echo "$TOKEN" | kubectl shipjob registry add acme --server ghcr.io/acme --username bot --password-stdin
  kubectl shipjob registry list
  kubectl shipjob registry delete acme`,
	}
	cmd.AddCommand(newRegistryAddCmd(flags, streams), newRegistryListCmd(flags, streams), newRegistryDeleteCmd(flags, streams))
	return cmd
}

// regCmd wires a registry subcommand's Options: Complete resolves the
// target, run does the work.
type regCmd struct {
	*RegistryOptions
	validate func() error
	run      func(ctx context.Context) error
}

func (c regCmd) Complete(cmd *cobra.Command, args []string) error {
	c.Names = args
	var err error
	c.target, err = resolveTarget(c.flags)
	return err
}

func (c regCmd) Validate() error               { return c.validate() }
func (c regCmd) Run(ctx context.Context) error { return c.run(ctx) }

func newRegistryAddCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &RegistryOptions{flags: flags, IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "add NAME --server HOST[/PATH] --username USER --password-stdin",
		Short:   "Add a registry with credentials; jobs refer to it with --registry NAME",
		Example: `  echo "$TOKEN" | kubectl shipjob registry add acme --server ghcr.io/acme --username bot --password-stdin`,
		Args:    cobra.ExactArgs(1),
		RunE:    runE(regCmd{o, o.validateAdd, o.runAdd}),
	}
	cmd.Flags().StringVar(&o.Server, "server", "", "Registry host and optional path prefix, e.g. ghcr.io/acme (here --server names the registry, not the API server)")
	cmd.Flags().StringVar(&o.Username, "username", "", "User name")
	cmd.Flags().StringVar(&o.Password, "password", "", "Password or token (insecure: it lands in shell history; use --password-stdin)")
	cmd.Flags().BoolVar(&o.PasswordStdin, "password-stdin", false, "Read the password or token from stdin")
	addDryRunFlag(cmd, &o.dryRun)
	return cmd
}

func (o *RegistryOptions) validateAdd() error {
	switch {
	case o.PasswordStdin && o.Password != "":
		return errors.New("--password and --password-stdin are mutually exclusive")
	case o.PasswordStdin:
		data, err := io.ReadAll(io.LimitReader(o.In, 64<<10))
		if err != nil {
			return fmt.Errorf("read password from stdin: %w", err)
		}
		o.Password = strings.TrimRight(string(data), "\r\n")
	case o.Password != "":
		fmt.Fprintln(o.ErrOut, "Warning: --password is insecure (shell history, process list); use --password-stdin.")
	}
	if o.Username == "" || o.Password == "" {
		return errors.New("--username and a password (--password-stdin) are required")
	}
	return jobdef.ValidateRegistry(o.Names[0], o.Server)
}

func (o *RegistryOptions) runAdd(ctx context.Context) error {
	if o.dryRun != dryRunClient {
		_, err := o.target.store(false).CreateRegistry(ctx, o.Names[0], o.Server, o.Username, o.Password, o.dryRun.writeOptions())
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(o.Out, "registry.shipjob.dev/%s created%s\n", o.Names[0], o.dryRun.suffix())
	return nil
}

func newRegistryListCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &RegistryOptions{flags: flags, IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List registries (credentials are never printed)",
		Example: `  kubectl shipjob registry list -o yaml`,
		Args:    cobra.NoArgs,
		RunE:    runE(regCmd{o, o.validateList, o.runList}),
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json or yaml (default a table)")
	return cmd
}

func (o *RegistryOptions) validateList() error { return checkFormat(o.Output, "json", "yaml") }

func (o *RegistryOptions) runList(ctx context.Context) error {
	store := o.target.store(false)
	regs, err := store.ListRegistries(ctx)
	if err != nil {
		return err
	}
	if o.Output != "" {
		return writeData(o.Out, o.Output, map[string]any{"registries": regs}, "registries")
	}
	if len(regs) == 0 {
		fmt.Fprintf(o.ErrOut, "No registries found in %s namespace.\n", o.target.Namespace)
		return nil
	}
	table := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string"}, {Name: "Server", Type: "string"}, {Name: "Username", Type: "string"},
		{Name: "Secret", Type: "string"}, {Name: "Age", Type: "string"}}}
	for _, r := range regs {
		table.Rows = append(table.Rows, metav1.TableRow{Cells: []any{r.Name, r.Server, r.Username, r.Secret, age(r.Created, time.Now())}})
	}
	return printers.NewTablePrinter(printers.PrintOptions{}).PrintObj(table, o.Out)
}

func newRegistryDeleteCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &RegistryOptions{flags: flags, IOStreams: streams}
	cmd := &cobra.Command{
		Use:               "delete NAME [NAME...]",
		Short:             "Delete registries (jobs that use one cannot run until it is added again)",
		Example:           `  kubectl shipjob registry delete acme`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeRegistryNames(flags),
		RunE:              runE(regCmd{o, func() error { return nil }, o.runDelete}),
	}
	addDryRunFlag(cmd, &o.dryRun)
	return cmd
}

func (o *RegistryOptions) runDelete(ctx context.Context) error {
	store := o.target.store(false)
	var errs []error
	for _, name := range o.Names {
		var err error
		if o.dryRun == dryRunClient {
			_, err = store.GetRegistry(ctx, name)
		} else {
			err = store.DeleteRegistry(ctx, name, o.dryRun.writeOptions())
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(o.Out, "registry.shipjob.dev/%s deleted%s\n", name, o.dryRun.suffix())
	}
	if jobs, err := store.List(ctx, ""); err == nil {
		for _, j := range jobs {
			for _, name := range o.Names {
				if j.Spec.Registry == name {
					fmt.Fprintf(o.ErrOut, "Warning: job %s uses registry %s: its runs fail until the registry is added again.\n", j.Name, name)
				}
			}
		}
	}
	return reportErrors(o.ErrOut, errs)
}
