package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/postrender"
)

// Defaults of `kubectl shipjob postrender`.
const (
	// DefaultPostrenderTTL is Shipmight's retention default: 14 days.
	DefaultPostrenderTTL = jobdef.DefaultRetention
	// PostrenderErrorFileEnv names the error file when --error-file is not
	// given (Helm v4 passes the environment on to plugins).
	PostrenderErrorFileEnv = "SHIPJOB_POSTRENDER_ERROR_FILE"
)

// PostrenderOptions run the Helm post-renderer: manifests on stdin, the
// same manifests with keep + TTL on every Job on stdout. It needs no
// cluster and builds no client.
type PostrenderOptions struct {
	TTL        string
	Keep       bool
	Override   bool
	CronJobs   bool
	AllowEmpty bool
	ErrorFile  string

	opts   postrender.Options
	getenv func(string) string // test seam, os.Getenv by default
	genericiooptions.IOStreams
}

func newPostrenderCmd(streams genericiooptions.IOStreams) *cobra.Command {
	o := &PostrenderOptions{IOStreams: streams, getenv: os.Getenv}
	cmd := &cobra.Command{
		Use:   "postrender [flags] < MANIFESTS",
		Short: "Helm post-renderer: keep Jobs across releases and give them a TTL",
		Long: `Read the manifests Helm renders on stdin and print them on stdout with every batch/v1 Job
annotated helm.sh/resource-policy: keep, so that a later upgrade that no longer renders
the Job (for example because its name contains the revision) leaves it in the cluster,
and with spec.ttlSecondsAfterFinished set (default 336h = 14 days; --ttl none leaves it
alone), so that Kubernetes deletes it when its retention ends. The TTL is also recorded
in the annotation shipjob.dev/ttl. Values a manifest already sets are kept unless
--override. Everything else passes through unchanged, comments included.

It needs no cluster and no kubeconfig: it runs wherever helm runs.

Helm v3 runs it as an executable:
  helm upgrade --install REL CHART --post-renderer kubectl-shipjob \
    --post-renderer-args=postrender --post-renderer-args=--ttl=1h

Helm v4 runs post-renderers only as plugins. Install plugin/helm-plugin/shipjob-postrender
from the kubectl-shipjob sources (make helm-plugin) with kubectl-shipjob on the PATH:
  helm upgrade --install REL CHART --post-renderer shipjob-postrender \
    --post-renderer-args=--ttl=1h

Errors: on input it cannot handle (malformed YAML, no documents at all, a bad flag)
it prints one line on stderr, exits 1 and prints nothing on stdout, so that Helm fails
instead of applying an empty manifest (which Helm v3 would read as "delete every
resource of the release"). Input without any document is an error unless --allow-empty.
On SIGTERM or SIGINT it stops at once, in the same way.

Helm v4 discards a plugin's stderr and only says
  plugin "shipjob-postrender" exited with error
To see why, name an error file with --error-file (in --post-renderer-args) or the
environment variable ` + PostrenderErrorFileEnv + `: on failure the same line is
written there; after a successful run an existing regular file is emptied. Point it
at /dev/tty to have the error printed on your terminal right away.`,
		Example: `  # Helm v3: keep every Job and delete it 1 hour after it finished
  helm upgrade --install app ./chart --post-renderer kubectl-shipjob \
    --post-renderer-args=postrender --post-renderer-args=--ttl=1h

  # Helm v4 (plugin installed with make helm-plugin), errors shown on the terminal
  SHIPJOB_POSTRENDER_ERROR_FILE=/dev/tty helm upgrade --install app ./chart \
    --post-renderer shipjob-postrender --post-renderer-args=--ttl=1h

  # Helm v4, error kept in a file
  helm upgrade --install app ./chart --post-renderer shipjob-postrender \
    --post-renderer-args=--error-file=/tmp/shipjob-postrender.err || cat /tmp/shipjob-postrender.err

  # See what it does to a chart
  helm template app ./chart | kubectl shipjob postrender --ttl 14d`,
		Args: cobra.NoArgs,
		// The shared Complete/Validate/Run, and every error also to the
		// error file.
		RunE: func(cmd *cobra.Command, args []string) error { return o.report(runE(o)(cmd, args)) },
	}
	// An unknown flag fails before RunE: report it to the error file too.
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return o.report(err) })
	f := cmd.Flags()
	f.StringVar(&o.TTL, "ttl", DefaultPostrenderTTL, `TTL after a Job finished: seconds ("3600"), a duration ("90m", "336h"), days ("14d"), or "none" to leave TTLs alone`)
	f.BoolVar(&o.Keep, "keep", true, "Annotate Jobs with helm.sh/resource-policy: keep")
	f.BoolVar(&o.Override, "override", false, "Replace a keep policy or TTL that a manifest already sets")
	f.BoolVar(&o.CronJobs, "cronjobs", false, "Also set the TTL in the job template of batch/v1 CronJobs")
	f.BoolVar(&o.AllowEmpty, "allow-empty", false, "Let input without any YAML document through (Helm v3 would then delete every resource of the release)")
	f.StringVar(&o.ErrorFile, "error-file", "", "Also write an error to this file, for Helm v4 which discards a plugin's stderr (default $"+PostrenderErrorFileEnv+")")
	return cmd
}

// Complete parses the TTL and picks the error file.
func (o *PostrenderOptions) Complete(_ *cobra.Command, _ []string) error {
	if o.ErrorFile == "" {
		o.ErrorFile = o.getenv(PostrenderErrorFileEnv)
	}
	ttl, err := postrender.ParseTTL(o.TTL)
	if err != nil {
		return fmt.Errorf("--ttl: %w", err)
	}
	o.opts = postrender.Options{Keep: o.Keep, TTL: ttl, Override: o.Override, CronJobs: o.CronJobs, AllowEmpty: o.AllowEmpty}
	return nil
}

// Validate refuses to wait on a terminal: the manifests come on stdin.
func (o *PostrenderOptions) Validate() error {
	if f, ok := o.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return errors.New("postrender reads manifests on stdin; pipe them in, e.g. helm template REL CHART | kubectl shipjob postrender")
	}
	return nil
}

// Run reads all of stdin, processes it and writes the result in one piece:
// on any error nothing reaches stdout. When ctx is done (SIGTERM, SIGINT)
// it returns an error right away, even while stdin is still open.
func (o *PostrenderOptions) Run(ctx context.Context) error {
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := o.process(ctx)
		done <- result{out, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
	}
	if ctx.Err() != nil {
		return fmt.Errorf("postrender: stopped before writing any output: %w", context.Cause(ctx))
	}
	if r.err != nil {
		return r.err
	}
	if _, err := o.Out.Write(r.out); err != nil {
		return fmt.Errorf("write manifests to stdout: %w", err)
	}
	return nil
}

// process reads stdin and processes it.
func (o *PostrenderOptions) process(ctx context.Context) ([]byte, error) {
	in, err := io.ReadAll(o.In)
	if err != nil {
		return nil, fmt.Errorf("read manifests from stdin: %w", err)
	}
	defer o.tuneGC(len(in))()
	return postrender.ProcessContext(ctx, in, o.opts)
}

// Garbage collection for short runs: the manifests of a typical chart (tens
// of KB) make Process allocate a few MB in a run of tens of milliseconds, in
// which the collector would take a quarter of the time. Up to smallInput the
// heap may grow to gcMemoryLimit before the first collection; larger input
// keeps the default pacing, which bounds memory to a few times the input.
const (
	smallInput    = 256 << 10
	gcMemoryLimit = 128 << 20
)

// tuneGC applies the policy above unless GOGC or GOMEMLIMIT is set, and
// returns the function that restores the previous settings.
func (o *PostrenderOptions) tuneGC(inputSize int) func() {
	if inputSize > smallInput || o.getenv("GOGC") != "" || o.getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	percent := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(gcMemoryLimit)
	return func() {
		debug.SetMemoryLimit(limit)
		debug.SetGCPercent(percent)
	}
}

// report writes err (the line that goes to stderr) to the error file, or
// empties a regular error file left from an earlier failure when err is
// nil. It returns err, joined with a failure to write the file.
func (o *PostrenderOptions) report(err error) error {
	path := o.ErrorFile
	if path == "" {
		path = o.getenv(PostrenderErrorFileEnv)
	}
	if path == "" {
		return err
	}
	if err == nil {
		// A stale error must not be taken for this run's. Devices such as
		// /dev/tty are left alone; failing to empty the file does not fail
		// the release.
		if fi, statErr := os.Stat(path); statErr == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
			_ = os.Truncate(path, 0)
		}
		return nil
	}
	if werr := writeErrorFile(path, FormatError(err)+"\n"); werr != nil {
		return fmt.Errorf("%w (and writing the error file failed: %w)", err, werr)
	}
	return err
}

func writeErrorFile(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
