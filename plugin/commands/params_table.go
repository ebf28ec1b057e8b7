package commands

import (
	"fmt"
	"io"
	"strings"

	"k8s.io/cli-runtime/pkg/printers"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// printParameters prints a job's parameters below `get NAME`'s row: what
// each run may set, its type, default and what it is for.
func printParameters(w io.Writer, ps []jobdef.Parameter) error {
	tw := printers.GetNewTabWriter(w)
	fmt.Fprintln(tw, "\nPARAMETER\tTYPE\tDEFAULT\tALLOWED\tDESCRIPTION")
	for _, p := range ps {
		typ := p.TypeName()
		if p.Secret {
			typ += " (secret)"
		}
		def := p.Shown(p.Default)
		switch {
		case p.Required:
			def = "<required>"
		case def == "":
			def = `""`
		}
		allowed := none
		switch {
		case len(p.Enum) > 0:
			allowed = strings.Join(p.Enum, ", ")
		case p.Pattern != "":
			allowed = "/" + p.Pattern + "/"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Name, typ, printable(def), printable(allowed), printable(orNone(p.Description)))
	}
	return tw.Flush()
}
