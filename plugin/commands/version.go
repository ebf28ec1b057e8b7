package commands

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

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
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json or yaml")
	return cmd
}

// Validate checks the output format.
func (o *VersionOptions) Validate() error {
	switch o.Output {
	case "", "json", "yaml":
		return nil
	}
	return fmt.Errorf("--output must be 'json' or 'yaml', got %q", o.Output)
}

// Run prints the version.
func (o *VersionOptions) Run() error {
	info := version.Get()
	switch o.Output {
	case "json":
		data, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return fmt.Errorf("encode version: %w", err)
		}
		_, err = fmt.Fprintln(o.Out, string(data))
		return err
	case "yaml":
		data, err := yaml.Marshal(info)
		if err != nil {
			return fmt.Errorf("encode version: %w", err)
		}
		_, err = o.Out.Write(data)
		return err
	}
	_, err := fmt.Fprintf(o.Out, "kubectl-shipjob %s (commit %s, %s, %s)\nclient-go %s, helm %s\n",
		info.Version, info.Commit, info.GoVersion, info.Platform, info.ClientGoVersion, info.HelmVersion)
	return err
}
