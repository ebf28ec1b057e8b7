package commands

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// fakeTarget is a namespace "ns" holding the given jobs, stored with a
// resourceVersion (the fake tracker sets none itself).
func fakeTarget(t *testing.T, jobs ...*jobdef.Job) (target, *fake.Clientset) {
	t.Helper()
	var objs []runtime.Object
	for _, j := range jobs {
		sec, err := jobdef.ToSecret(j)
		if err != nil {
			t.Fatal(err)
		}
		sec.ResourceVersion = "1"
		objs = append(objs, sec)
	}
	client := fake.NewClientset(objs...)
	return target{Namespace: "ns", Client: client}, client
}

func storedJob(name string) *jobdef.Job {
	j := jobdef.New("ns", name)
	j.Spec.Image = "busybox"
	return j
}

func writes(client *fake.Clientset) int {
	n := 0
	for _, a := range client.Actions() {
		if v := a.GetVerb(); v == "create" || v == "update" || v == "delete" {
			n++
		}
	}
	return n
}

// scripted returns an editor that applies one edit per opening and records
// what it was shown.
func scripted(t *testing.T, shown *[]string, edits ...func(string) string) func([]byte) ([]byte, string, error) {
	return func(text []byte) ([]byte, string, error) {
		*shown = append(*shown, string(text))
		if len(*shown) > len(edits) {
			t.Fatalf("editor opened %d times, expected %d", len(*shown), len(edits))
		}
		file := filepath.Join(t.TempDir(), "edit.yaml")
		out := edits[len(*shown)-1](string(text))
		return []byte(out), file, os.WriteFile(file, []byte(out), 0o600)
	}
}

func replace(old, new string) func(string) string {
	return func(s string) string { return strings.Replace(s, old, new, 1) }
}

func TestEdit(t *testing.T) {
	same := func(s string) string { return s }
	cases := map[string]struct {
		edits       []func(string) string
		conflict    bool
		wantOut     string
		wantErr     string
		wantWrites  int
		wantTimeout string
		wantShown   string // in the second opening
	}{
		"valid change":      {edits: []func(string) string{replace("timeout: 15m", "timeout: 30m")}, wantOut: "job.shipjob.dev/job edited\n", wantWrites: 1, wantTimeout: "30m"},
		"no change":         {edits: []func(string) string{same}, wantOut: "Edit cancelled, no changes made.\n"},
		"comments only":     {edits: []func(string) string{replace("kind: Job", "# mine\nkind: Job")}, wantOut: "Edit cancelled, no changes made.\n"},
		"semantically same": {edits: []func(string) string{replace("timeout: 15m", "timeout:   15m")}, wantOut: "Edit cancelled, no changes made.\n"},
		"emptied":           {edits: []func(string) string{func(string) string { return "# nothing\n" }}, wantOut: "Edit cancelled, saved file was empty.\n"},
		"invalid then fixed": {
			edits:     []func(string) string{replace("memory: 128Mi", "memory: lots"), replace("memory: lots", "memory: 256Mi")},
			wantShown: `# The job was not saved: invalid memory "lots"`, wantOut: "job.shipjob.dev/job edited\n", wantWrites: 1, wantTimeout: "15m",
		},
		"invalid twice": {
			edits:   []func(string) string{replace("retries: 0", "retries: 0\n  bogus: 1"), same},
			wantErr: `edit cancelled, no valid changes were saved: invalid job definition: unknown field "spec.bogus"`,
		},
		"rename refused": {
			edits:   []func(string) string{replace("name: job", "name: other"), same},
			wantErr: "metadata.name cannot be changed",
		},
		"conflict": {
			edits: []func(string) string{replace("timeout: 15m", "timeout: 30m")}, conflict: true, wantWrites: 1,
			wantErr: "changed by someone else since it was read; your changes are saved in",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tgt, client := fakeTarget(t, storedJob("job"))
			if tc.conflict {
				client.PrependReactor("update", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewConflict(corev1.Resource("secrets"), "x", errors.New("changed"))
				})
			}
			var shown []string
			var out bytes.Buffer
			o := &EditOptions{Name: "job", target: tgt, dryRun: dryRunNone, edit: scripted(t, &shown, tc.edits...),
				IOStreams: genericiooptions.IOStreams{Out: &out, ErrOut: &out}}
			err := o.Run(context.Background())
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
			if out.String() != tc.wantOut {
				t.Errorf("output = %q, want %q", out.String(), tc.wantOut)
			}
			if got := writes(client); got != tc.wantWrites {
				t.Errorf("%d writes, want %d", got, tc.wantWrites)
			}
			if !strings.HasPrefix(shown[0], editHeader+"apiVersion: shipjob.dev/v1alpha1\nkind: Job\n") || strings.Contains(shown[0], "status:") {
				t.Errorf("first opening:\n%s", shown[0])
			}
			if tc.wantShown != "" && (len(shown) < 2 || !strings.Contains(shown[1], tc.wantShown)) {
				t.Errorf("second opening lacks %q: %q", tc.wantShown, shown)
			}
			if tc.wantTimeout != "" && !tc.conflict {
				j, _ := tgt.store(false).Get(context.Background(), "job")
				if j.Spec.Timeout != tc.wantTimeout || j.Spec.Resources.Memory == "lots" {
					t.Errorf("stored %+v", j.Spec)
				}
			}
		})
	}
}

func TestWithoutComments(t *testing.T) {
	in := "# header\napiVersion: v\nspec:\n  files:\n  - content: |\n      # kept: file content\n    path: /a\n#tail"
	want := "apiVersion: v\nspec:\n  files:\n  - content: |\n      # kept: file content\n    path: /a\n"
	if got := string(withoutComments([]byte(in))); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
