package commands

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// dryRun is the --dry-run strategy of every write command, as kubectl's:
// a pflag.Value, parsed when the flag is set, over the domain's run.DryRun
// (its zero value is "none").
type dryRun run.DryRun

const (
	dryRunNone   = dryRun(run.DryRunNone)
	dryRunClient = dryRun(run.DryRunClient)
	dryRunServer = dryRun(run.DryRunServer)
)

var _ pflag.Value = (*dryRun)(nil)

// addDryRunFlag adds --dry-run=none|client|server into d (a bare
// --dry-run means client).
func addDryRunFlag(cmd *cobra.Command, d *dryRun) {
	cmd.Flags().Var(d, "dry-run",
		`Must be "none", "server", or "client". If client strategy, only print the object that would be sent, without sending it. If server strategy, submit server-side request without persisting the resource.`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = string(dryRunClient)
}

// Set parses a --dry-run value.
func (d *dryRun) Set(s string) error {
	switch s {
	case "none":
		*d = dryRunNone
	case string(dryRunClient), string(dryRunServer):
		*d = dryRun(s)
	default:
		return &flagError{fmt.Errorf(`invalid --dry-run %q: must be "none", "server", or "client"`, s)}
	}
	return nil
}

func (d dryRun) String() string {
	if d == dryRunNone {
		return "none"
	}
	return string(d)
}

// Type is what help shows as the flag's value ("string", as kubectl's).
func (d dryRun) Type() string { return "string" }

// domain is the strategy as the domain packages take it.
func (d dryRun) domain() run.DryRun { return run.DryRun(d) }

// writeOptions are the job store's options for this strategy.
func (d dryRun) writeOptions() jobdef.WriteOptions {
	return jobdef.WriteOptions{DryRun: d.domain().API(), FieldManager: jobdef.ManagedBy}
}

// suffix is what kubectl appends to its success messages.
func (d dryRun) suffix() string {
	switch d {
	case dryRunClient:
		return " (dry run)"
	case dryRunServer:
		return " (server dry run)"
	}
	return ""
}

// flagError is a flag value's own message, shown as is instead of pflag's
// `invalid argument "x" for "--flag" flag: ...` (see flagErrorFunc).
type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }
func (e *flagError) Unwrap() error { return e.err }

// flagErrorFunc is the root's cobra flag error function: a flagError
// reaches the user without pflag's wrapping.
func flagErrorFunc(_ *cobra.Command, err error) error {
	if fe, ok := errors.AsType[*flagError](err); ok {
		return fe.err
	}
	return err
}
