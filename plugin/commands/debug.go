package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// DebugOptions start a debug copy of a run's pod and attach a shell to it.
type DebugOptions struct {
	// Of is the run to copy (a job name means its newest run).
	Of      string
	Image   string
	Timeout time.Duration
	// Command replaces the pod's waiting command (given after --).
	Command           []string
	PodRunningTimeout time.Duration

	flags  *genericclioptions.ConfigFlags
	target target
	genericiooptions.IOStreams
	// Seams for tests: is stdin a terminal, and attaching a shell.
	isTerminal func(io.Reader) bool
	attach     func(ctx context.Context, pod *corev1.Pod) error
	// kubectlFlags pass our connection flags on to kubectl exec.
	kubectlFlags []string
}

func newDebugCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DebugOptions{flags: flags, IOStreams: streams, isTerminal: stdinIsTerminal}
	o.attach = o.attachShell
	cmd := &cobra.Command{
		Use:   "debug RUN|JOB [--image IMAGE] [--timeout 1h] [-- COMMAND...]",
		Short: "Start a copy of a run's pod that waits, for a shell in its environment",
		Long: `Start a debug copy of a run's pod: the same image, env, parameters, files, service
account and pull secrets, built from the run's Job (so it works when the run's pods
are gone), whose command is replaced by one that waits (sleep for --timeout, or
COMMAND after --). A job name means its newest run.

The pod is labelled shipjob.dev/debug-of=RUN: it is not an attempt of the run
('runs', 'logs' and the Job controller do not count it). The run's Job owns it, so
it is deleted with the run (delete-run, its retention); it ends after --timeout
(activeDeadlineSeconds) at the latest.

Once the pod is running: with stdin a terminal, a shell is attached to it (kubectl
exec -it ... -- /bin/sh, with the connection flags given); otherwise the kubectl
exec line to use is printed and the command exits 0. If the pod does not start
within --pod-running-timeout it is deleted and the command fails. The pod stays
when the shell exits: delete it with kubectl delete pod.`,
		Example: `  # A shell in the environment of a failed run
  kubectl shipjob debug migrate-09xi5scrch

  # The newest run of a job, with a debugging image, for 15 minutes
  kubectl shipjob debug migrate --image busybox:1.37 --timeout 15m

  # An image without sleep on its PATH: give the waiting command
  kubectl shipjob debug migrate-09xi5scrch -- /busybox/sleep 3600`,
		Args:              debugArgs,
		ValidArgsFunction: completeJobName(flags),
		RunE:              runE(o),
	}
	cmd.Flags().StringVar(&o.Image, "image", "", "Image of the debug pod (default: the run's)")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", run.DefaultDebugTimeout, "How long the debug pod may live (whole seconds)")
	cmd.Flags().DurationVar(&o.PodRunningTimeout, "pod-running-timeout", time.Minute, "How long to wait for the debug pod to run")
	return cmd
}

// debugArgs: one RUN, then optionally -- and a command.
func debugArgs(cmd *cobra.Command, args []string) error {
	switch dash := cmd.ArgsLenAtDash(); {
	case dash < 0:
		return cobra.ExactArgs(1)(cmd, args)
	case dash != 1:
		return fmt.Errorf("give one RUN before --, got %d", dash)
	}
	return nil
}

// Complete takes the run and the command, and resolves namespace and client.
func (o *DebugOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Of = args[0]
	o.kubectlFlags = connectionFlags(cmd)
	if dash := cmd.ArgsLenAtDash(); dash >= 0 {
		o.Command = args[dash:]
	}
	var err error
	o.target, err = resolveTarget(o.flags)
	return err
}

// Validate checks the flags before any API request.
func (o *DebugOptions) Validate() error {
	if o.Timeout < time.Second || o.Timeout%time.Second != 0 {
		return fmt.Errorf("invalid --timeout %s: use whole seconds, at least 1s", o.Timeout)
	}
	if o.PodRunningTimeout <= 0 {
		return errors.New("--pod-running-timeout must be positive")
	}
	if err := o.domain().Validate(); err != nil {
		return fmt.Errorf("invalid --image: %w", err)
	}
	return nil
}

func (o *DebugOptions) domain() run.DebugOptions {
	return run.DebugOptions{Image: o.Image, Timeout: o.Timeout, Command: o.Command}
}

// Run creates the debug pod, waits until it runs, then attaches a shell or
// prints how to.
func (o *DebugOptions) Run(ctx context.Context) error {
	t := o.target
	name, err := run.Resolve(ctx, t.Client, t.Namespace, o.Of)
	if err != nil {
		return err
	}
	pod, err := run.CreateDebugPod(ctx, t.Client, t.Namespace, name, o.domain())
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "pod/%s created\n", pod.Name)
	wctx, cancel := context.WithTimeout(ctx, o.PodRunningTimeout)
	defer cancel()
	if _, err := run.WaitDebugPod(wctx, t.Client, t.Namespace, pod.Name); err != nil {
		derr := run.DeleteDebugPod(context.WithoutCancel(ctx), t.Client, t.Namespace, pod.Name)
		if derr != nil {
			return fmt.Errorf("%w (and deleting it failed: %w)", err, derr)
		}
		return fmt.Errorf("%w; deleted it", err)
	}
	exec := fmt.Sprintf("kubectl exec -it -n %s %s -- sh", t.Namespace, pod.Name)
	stays := fmt.Sprintf("it ends after %s or with run %s (now: kubectl delete pod -n %s %s)",
		run.HumanDuration(o.Timeout), name, t.Namespace, pod.Name)
	if !o.isTerminal(o.In) {
		fmt.Fprintf(o.ErrOut, "Debug pod %s of run %s is running; %s\n", pod.Name, name, stays)
		_, err := fmt.Fprintln(o.Out, exec)
		return err
	}
	fmt.Fprintf(o.ErrOut, "Debug pod %s of run %s is running; attaching /bin/sh (or: %s)\n", pod.Name, name, exec)
	err = o.attach(ctx, pod)
	fmt.Fprintf(o.ErrOut, "The debug pod stays: %s\n", stays)
	return err
}

func stdinIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// attachShell runs /bin/sh in the pod with a TTY on this terminal by
// handing over to kubectl exec with the connection flags given to us
// (client-go's exec streams would add 0.4 MB to the binary, over its
// budget), and passes the shell's exit code through.
func (o *DebugOptions) attachShell(ctx context.Context, pod *corev1.Pod) error {
	args := append([]string{"exec", "-it", "-n", pod.Namespace, pod.Name, "-c", pod.Spec.Containers[0].Name}, o.kubectlFlags...)
	cmd := exec.CommandContext(ctx, "kubectl", append(args, "--", "/bin/sh")...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.In, o.Out, o.ErrOut
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return &ExitError{Code: exit.ExitCode()} // the shell's own exit code; it said why
	}
	if err != nil {
		return fmt.Errorf("attach a shell with kubectl exec: %w", err)
	}
	return nil
}

// connectionFlags are the kubectl flags given on the command line (but
// -n), as kubectl exec takes them: --kubeconfig, --context, --as, ...
func connectionFlags(cmd *cobra.Command) []string {
	var out []string
	cmd.InheritedFlags().VisitAll(func(f *pflag.Flag) {
		if !f.Changed || f.Name == "namespace" {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				out = append(out, "--"+f.Name+"="+v)
			}
			return
		}
		out = append(out, "--"+f.Name+"="+f.Value.String())
	})
	return out
}
