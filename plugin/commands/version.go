package commands

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/shipjob/kubectl-shipjob/plugin/version"
)

// VersionOptions prints build information; it needs no cluster.
type VersionOptions struct {
	Output string
	genericiooptions.IOStreams
}

func newVersionCmd(streams genericiooptions.IOStreams) *cobra.Command {
	o := &VersionOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of kubectl-shipjob and its libraries",
		Example: `  kubectl shipjob version
  kubectl shipjob version -o json`,
		Args: cobra.NoArgs,
		RunE: runE(o),
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json or yaml")
	return cmd
}

// Complete has nothing to resolve: version needs no cluster.
func (o *VersionOptions) Complete(cmd *cobra.Command, args []string) error { return nil }

// Validate checks the output format.
func (o *VersionOptions) Validate() error { return checkFormat(o.Output, "json", "yaml") }

// Run prints the version.
func (o *VersionOptions) Run(context.Context) error {
	info := version.Get()
	if o.Output != "" {
		return writeData(o.Out, o.Output, info, "version")
	}
	_, err := fmt.Fprintf(o.Out, "kubectl-shipjob %s (commit %s, %s, %s)\nclient-go %s, helm %s\n",
		info.Version, info.Commit, info.GoVersion, info.Platform, info.ClientGoVersion, info.HelmVersion)
	return err
}
