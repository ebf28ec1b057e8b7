package commands

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/shipjob/kubectl-shipjob/plugin/helmrun"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

func TestDryRunFlag(t *testing.T) {
	cases := map[string]struct {
		args []string
		want dryRun
		err  string
	}{
		"default": {want: dryRunNone},
		"bare":    {args: []string{"--dry-run"}, want: dryRunClient},
		"none":    {args: []string{"--dry-run=none"}, want: dryRunNone},
		"server":  {args: []string{"--dry-run=server"}, want: dryRunServer},
		"bogus":   {args: []string{"--dry-run=bogus"}, err: `invalid --dry-run "bogus": must be "none", "server", or "client"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var d dryRun
			cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }, SilenceErrors: true, SilenceUsage: true}
			cmd.SetFlagErrorFunc(flagErrorFunc)
			addDryRunFlag(cmd, &d)
			cmd.SetArgs(tc.args)
			err := cmd.Execute()
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || d != tc.want {
				t.Fatalf("parsed %q, %v; want %q", d, err, tc.want)
			}
		})
	}
	if dryRunNone.domain() != run.DryRunNone || dryRunServer.domain() != run.DryRunServer || dryRunClient.domain() != run.DryRunClient {
		t.Fatal("dryRun does not map onto run.DryRun")
	}
	if o := dryRunServer.writeOptions(); strings.Join(o.DryRun, ",") != "All" || dryRunClient.writeOptions().DryRun != nil {
		t.Fatalf("write options %+v", o)
	}
}

// TestDryRunErrorFromRoot: the message reaches the user as the value's own,
// one line, from every write command.
func TestDryRunErrorFromRoot(t *testing.T) {
	for _, args := range [][]string{{"run", "j"}, {"create", "j", "--image", "x"}, {"delete", "j"}, {"cancel", "j"},
		{"delete-run", "j-1"}, {"registry", "delete", "r"}, {"apply", "-f", "-"}, {"edit", "j"}, {"set", "j"}} {
		var out, errOut bytes.Buffer
		root := NewRootCmd(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, helmrun.New)
		root.SetArgs(append(args, "--dry-run=maybe"))
		err := root.Execute()
		if err == nil || FormatError(err) != `error: invalid --dry-run "maybe": must be "none", "server", or "client"` {
			t.Errorf("%v: %v", args, err)
		}
	}
}
