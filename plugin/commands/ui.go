package commands

import (
	"context"
	"os"
	"os/exec"
	"runtime"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"github.com/shipjob/kubectl-shipjob/plugin/ui"
)

// UIOptions serve the web front end on loopback.
type UIOptions struct {
	Listen    string
	NoBrowser bool

	flags  *genericclioptions.ConfigFlags
	engine run.NewEngine // triggers runs, deletes jobs (helmrun.New, from main)
	target target
	genericiooptions.IOStreams
}

func newUICmd(flags *genericclioptions.ConfigFlags, engine run.NewEngine, streams genericiooptions.IOStreams) *cobra.Command {
	o := &UIOptions{flags: flags, engine: engine, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "ui [--listen 127.0.0.1:PORT] [--no-browser]",
		Short: "Open the web front end: jobs, runs, logs and deploy hooks in the browser",
		Long: `Serve the web front end on a loopback address with your kubeconfig's credentials,
like 'kubectl proxy': the API server's RBAC decides what you may see and do.

The first line printed is the URL to open. It holds a one-time token that the
browser exchanges for a session cookie; the link then no longer works, and other
local users or web pages cannot use the server. Stop it with Ctrl-C; for a new
link, run the command again.`,
		Example: `  # Open the jobs of the current namespace in the browser
  kubectl shipjob ui

  # Another namespace and context, a fixed port, no browser
  kubectl shipjob ui -n batch --context prod --listen 127.0.0.1:8765 --no-browser`,
		Args: cobra.NoArgs,
		RunE: runE(o),
	}
	cmd.Flags().StringVar(&o.Listen, "listen", "127.0.0.1:0", "Loopback address to listen on (port 0: a free one)")
	cmd.Flags().BoolVar(&o.NoBrowser, "no-browser", false, "Only print the URL; do not open a browser")
	return cmd
}

// Complete resolves the namespace and client.
func (o *UIOptions) Complete(_ *cobra.Command, _ []string) error {
	var err error
	o.target, err = resolveTarget(o.flags)
	return err
}

// Validate has nothing to check before listening (Serve refuses a
// non-loopback address).
func (o *UIOptions) Validate() error { return nil }

// Run serves until ctx ends (Ctrl-C).
func (o *UIOptions) Run(ctx context.Context) error {
	stale, err := run.StaleAfterFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	engine := o.engine(run.EngineConfig{Client: o.target.Client, Getter: o.flags, Clock: o.target.Clock, StaleAfter: stale})
	cfg := ui.Config{Client: o.target.Client, Engine: engine, Clock: o.target.Clock,
		Namespace: o.target.Namespace, WhoAmI: o.whoAmI}
	opts := ui.Options{Listen: o.Listen, Out: o.Out}
	if !o.NoBrowser {
		opts.Open = openBrowser
	}
	return ui.Serve(ctx, cfg, opts)
}

func (o *UIOptions) whoAmI(ctx context.Context) string {
	ro := &RunOptions{flags: o.flags, engine: o.engine, target: o.target}
	return ro.whoAmI(ctx)
}

// openBrowser opens url in the desktop's browser when there is one;
// without one (a server, CI) the printed URL is all there is.
func openBrowser(url string) {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return
		}
		cmd = exec.Command("xdg-open", url)
	}
	if cmd.Start() == nil {
		go func() { _ = cmd.Wait() }()
	}
}
