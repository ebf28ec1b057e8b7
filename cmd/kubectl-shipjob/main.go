// Command kubectl-shipjob is the kubectl plugin for one-off jobs: stored job
// definitions, runs through Helm releases, deploy hooks, and a Helm
// post-renderer. Run `kubectl shipjob --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/shipjob/kubectl-shipjob/plugin/commands"
	"github.com/shipjob/kubectl-shipjob/plugin/helmrun"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The command layer links no Helm: the engine that speaks it is
	// handed in here.
	code := commands.Execute(ctx, os.Args[1:], helmrun.New)
	stop()
	os.Exit(code)
}
