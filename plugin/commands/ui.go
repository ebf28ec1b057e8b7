package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"time"

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
	// IdleTimeout and SessionTimeout end the browser session.
	IdleTimeout, SessionTimeout time.Duration

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

The browser ($BROWSER if set, else the desktop's) is opened on a private local
file (mode 0600, in a directory only you can read) that sends it to a one-time
login URL: the token is never on a command line, where other local users could
read it. The file is removed once the link is used, or when the server stops.
With --no-browser, or when no browser can be opened, the first line printed is
the one-time URL to open yourself; otherwise the server's address (without the
token).

The browser exchanges the token for a session cookie (named per port, so two
servers do not log each other out); the link then no longer works, and other
local users or web pages cannot use the server. A session ends after 1 hour
without a request and 12 hours after it started, whatever happens
(--idle-timeout, --session-timeout). Stop the
server with Ctrl-C; for a new link, run the command again.`,
		Example: `  # Open the jobs of the current namespace in the browser
  kubectl shipjob ui

  # Another namespace and context, a fixed port, no browser
  kubectl shipjob ui -n batch --context prod --listen 127.0.0.1:8765 --no-browser`,
		Args: cobra.NoArgs,
		RunE: runE(o),
	}
	cmd.Flags().StringVar(&o.Listen, "listen", "127.0.0.1:0", "Loopback address to listen on (port 0: a free one)")
	cmd.Flags().DurationVar(&o.IdleTimeout, "idle-timeout", ui.SessionIdle, "End the browser session after this long without a request")
	cmd.Flags().DurationVar(&o.SessionTimeout, "session-timeout", ui.SessionMax, "End the browser session this long after it started")
	cmd.Flags().BoolVar(&o.NoBrowser, "no-browser", false, "Do not open a browser; print the one-time URL to open yourself")
	return cmd
}

// Complete resolves the namespace and client.
func (o *UIOptions) Complete(_ *cobra.Command, _ []string) error {
	var err error
	o.target, err = resolveTarget(o.flags)
	return err
}

// Validate checks the timeouts (Serve refuses a non-loopback address).
func (o *UIOptions) Validate() error {
	if o.IdleTimeout <= 0 || o.SessionTimeout <= 0 {
		return errors.New("--idle-timeout and --session-timeout must be positive")
	}
	return nil
}

// Run serves until ctx ends (Ctrl-C).
func (o *UIOptions) Run(ctx context.Context) error {
	engine, err := o.target.engine(o.engine)
	if err != nil {
		return err
	}
	cfg := ui.Config{Client: o.target.Client, Engine: engine, Clock: o.target.Clock,
		Namespace: o.target.Namespace, WhoAmI: o.target.whoAmI}
	opts := ui.Options{Listen: o.Listen, Out: o.Out, IdleTimeout: o.IdleTimeout, SessionTimeout: o.SessionTimeout}
	if !o.NoBrowser {
		opts.Open = openBrowser
	}
	return ui.Serve(ctx, cfg, opts)
}

// openBrowser opens the local file path (which sends the browser to the
// one-time URL) in $BROWSER if set, else the desktop's browser. Without
// one (a server, CI) it fails, and the printed URL is all there is.
func openBrowser(path string) error {
	var cmd *exec.Cmd
	switch b := os.Getenv("BROWSER"); {
	case b != "":
		cmd = exec.Command(b, path)
	case runtime.GOOS == "darwin":
		cmd = exec.Command("open", path)
	case runtime.GOOS == "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", path)
	default:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return errors.New("no display to open a browser on")
		}
		cmd = exec.Command("xdg-open", path)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("open a browser: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
