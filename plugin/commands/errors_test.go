package commands

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// TestExitCodesMapEveryKind: a new run.Kind fails here until the CLI says
// how it exits.
func TestExitCodesMapEveryKind(t *testing.T) {
	for _, k := range run.Kinds() {
		if _, ok := exitCodes[k]; !ok {
			t.Errorf("no exit code for %v", k)
		}
	}
}

// TestExitCode: an *ExitError says its code; every other failure exits 1,
// as before run.Classify.
func TestExitCode(t *testing.T) {
	gr := schema.GroupResource{Group: "shipjob.dev", Resource: "jobs"}
	for name, tc := range map[string]struct {
		err  error
		want int
	}{
		"nil":            {nil, 0},
		"exit":           {&ExitError{Code: 3}, 3},
		"wrapped exit":   {fmt.Errorf("x: %w", &ExitError{Code: 7, Err: errors.New("failed")}), 7},
		"input":          {&run.InputError{Err: errors.New("bad")}, 1},
		"not found":      {apierrors.NewNotFound(gr, "x"), 1},
		"conflict":       {&run.ConflictError{Job: "x", Reason: "forbid"}, 1},
		"plain":          {errors.New("boom"), 1},
		"unavailable":    {apierrors.NewServiceUnavailable("etcd"), 75},
		"throttled":      {apierrors.NewTooManyRequests("slow down", 1), 75},
		"server timeout": {apierrors.NewServerTimeout(gr, "create", 1), 75},
		"refused":        {fmt.Errorf("get job: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), 75},
		"deadline":       {fmt.Errorf("list: %w", context.DeadlineExceeded), 75},
		"forbidden":      {apierrors.NewForbidden(gr, "x", errors.New("no")), 1},
		// *fs.PathError has net.Error's methods; a file is not the network.
		"missing file": {fmt.Errorf("invalid --param-file: %w", &fs.PathError{Op: "open", Path: "/nope", Err: syscall.ENOENT}), 1},
		"read a dir":   {fmt.Errorf("cannot read --file: %w", &fs.PathError{Op: "read", Path: "/tmp", Err: syscall.EISDIR}), 1},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("%s: ExitCode = %d, want %d", name, got, tc.want)
		}
	}
}

// TestHookCreateNamesTheFlag: the hook store refuses the name; the CLI
// adds the flag that gives it.
func TestHookCreateNamesTheFlag(t *testing.T) {
	j := jobdef.New("team", "migrate")
	j.Spec.Image = "example.com/app"
	sec, err := jobdef.ToSecret(j)
	if err != nil {
		t.Fatal(err)
	}
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	o := &HookCreateOptions{Job: "migrate", PrintFlags: genericclioptions.NewPrintFlags(""),
		target: target{Namespace: "team", Client: fake.NewClientset(sec)}, IOStreams: streams}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	err = o.Run(t.Context())
	if got, want := FormatError(err), `error: a hook name is required, e.g. "CI on main" (--name)`; got != want || run.FieldOf(err) != hook.NameField {
		t.Fatalf("got %q, want %q", got, want)
	}
	if err := withFlag(errors.New("other"), map[string]string{hook.NameField: "--name"}); err.Error() != "other" {
		t.Errorf("withFlag of a plain error: %v", err)
	}
}
