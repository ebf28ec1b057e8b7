// Package commands is the command layer of kubectl-shipjob: cobra commands
// built as Options with Complete, Validate and Run. Domain logic lives in
// the packages they call; nothing imports this package but main.
package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"github.com/shipjob/kubectl-shipjob/plugin/startup"
	"github.com/shipjob/kubectl-shipjob/plugin/version"
)

// Execute runs the command line args and returns the process exit code.
func Execute(ctx context.Context, args []string, engine run.NewEngine) int {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	startup.Done() // package initialization is over: collect garbage as usual
	root := NewRootCmd(streams, engine)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	printError(streams.ErrOut, err)
	return ExitCode(err)
}

// ExitError carries a specific exit code (e.g. `run --wait` passing the
// workload's exit code through). A nil Err prints nothing.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit code %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// defaultQPS and defaultBurst are every command's client-side rate limit
// to the API server.
const defaultQPS, defaultBurst = 50, 100

// NewRootCmd builds the command tree. The kubectl global flags (--kubeconfig,
// --context, -n, --as, --request-timeout, ...) come from cli-runtime.
func NewRootCmd(streams genericiooptions.IOStreams, engine run.NewEngine) *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true)
	root := &cobra.Command{
		Use:   "kubectl-shipjob",
		Short: "Run one-off jobs on Kubernetes: stored definitions, runs, deploy hooks",
		Long: `kubectl shipjob stores job definitions in your namespace and runs them on demand.

A job is a stored definition (image, env, default parameters, files, resources,
timeout, retention). Creating a job does not run it: each 'run' is a Helm release
upgrade that renders a new batch/v1 Job, kept until its retention ends.`,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl shipjob",
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetFlagErrorFunc(flagErrorFunc)
	flags.AddFlags(root.PersistentFlags())
	// Every client (ours and Helm's) names itself and is not held to
	// client-go's default 5 requests/s, which throttles deleting many runs:
	// the one QPS default (hook serve sets its own over it).
	flags.WrapConfigFn = func(c *rest.Config) *rest.Config {
		c.UserAgent = "kubectl-shipjob/" + version.Get().Version + " (" + runtime.GOOS + "/" + runtime.GOARCH + ")"
		if c.QPS == 0 {
			c.QPS, c.Burst = defaultQPS, defaultBurst
		}
		return c
	}

	root.AddCommand(
		newVersionCmd(streams),
		newCreateCmd(flags, streams),
		newListCmd(flags, streams),
		newGetCmd(flags, streams),
		newApplyCmd(flags, streams),
		newEditCmd(flags, streams),
		newSetCmd(flags, streams),
		newSuspendCmd(flags, streams, false),
		newSuspendCmd(flags, streams, true),
		newDeleteCmd(flags, engine, streams),
		newRegistryCmd(flags, streams),
		newRunCmd(flags, engine, streams),
		newRerunCmd(flags, engine, streams),
		newDebugCmd(flags, streams),
		newRunsCmd(flags, streams),
		newLogsCmd(flags, streams),
		newCancelCmd(flags, streams),
		newHookCmd(flags, engine, streams),
		newDeleteRunCmd(flags, streams),
		newPostrenderCmd(streams),
		newUICmd(flags, engine, streams),
	)
	return root
}

// printError writes err the way kubectl does: "Error from server (Reason):
// message" for API errors, "error: message" otherwise, one line.
func printError(w io.Writer, err error) {
	var exit *ExitError
	if errors.As(err, &exit) && exit.Err == nil {
		return
	}
	fmt.Fprintln(w, FormatError(err))
}
