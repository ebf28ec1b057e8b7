package commands

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/yaml"
)

// addOwnOutputFlag adds pf's flags (--template, --show-managed-fields, ...)
// with -o bound to output instead: for commands whose -o also takes what
// PrintFlags does not know (a table, wide, custom-columns), handled before
// pf is asked for a printer.
func addOwnOutputFlag(cmd *cobra.Command, pf *genericclioptions.PrintFlags, output *string, usage string) {
	pf.OutputFormat = nil // AddFlags would add its own -o
	pf.AddFlags(cmd)
	pf.OutputFormat = output
	cmd.Flags().StringVarP(output, "output", "o", "", usage)
}

// checkFormat rejects an -o value that is not one of formats; "" (the
// command's default output) is always allowed. For commands whose -o is
// not kubectl's PrintFlags (see checkOutput for those).
func checkFormat(output string, formats ...string) error {
	if output == "" || slices.Contains(formats, output) {
		return nil
	}
	list := strings.Join(formats, ", ")
	if i := strings.LastIndex(list, ", "); i >= 0 {
		list = list[:i] + " or " + list[i+2:]
	}
	return fmt.Errorf("--output must be %s, got %q", list, output)
}

// writeJSON writes v as indented JSON (two spaces) and a newline: the one
// JSON form of our own outputs.
func writeJSON(w io.Writer, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// writeData writes v as "json" or "yaml"; what names it in errors.
func writeData(w io.Writer, format string, v any, what string) error {
	if format == "json" {
		if err := writeJSON(w, v); err != nil {
			return fmt.Errorf("encode %s: %w", what, err)
		}
		return nil
	}
	data, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", what, err)
	}
	_, err = w.Write(data)
	return err
}
