package commands

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	apiequality "k8s.io/apimachinery/pkg/api/equality"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

var localFiles = map[string][]byte{"./config.yaml": []byte("a: 1\n"), "./blob": {0xff, 0xfe}}

func parseJobFlags(t *testing.T, forSet bool, args ...string) *jobFlags {
	t.Helper()
	f := &jobFlags{}
	set := pflag.NewFlagSet("test", pflag.ContinueOnError)
	f.addFlags(set, forSet)
	f.readFile = func(p string) ([]byte, error) {
		if data, ok := localFiles[p]; ok {
			return data, nil
		}
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	if err := set.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCreateBuild(t *testing.T) {
	cases := map[string]struct {
		args    []string
		command []string
		want    func(*jobdef.Spec)
		wantErr string
	}{
		"full reference": {args: []string{"--image", "ghcr.io/acme/migrate:1.4"}, want: func(s *jobdef.Spec) {
			s.Image, s.Tag = "ghcr.io/acme/migrate", "1.4"
		}},
		"default tag": {args: []string{"--image", "busybox"}, want: func(s *jobdef.Spec) { s.Image = "busybox" }},
		"digest": {args: []string{"--image", "busybox@sha256:" + hex64}, want: func(s *jobdef.Spec) {
			s.Image, s.Tag, s.Digest = "busybox", "", "sha256:"+hex64
		}},
		"registry and tag": {args: []string{"--registry", "acme", "--image", "migrate", "--tag", "2"}, want: func(s *jobdef.Spec) {
			s.Registry, s.Image, s.Tag = "acme", "migrate", "2"
		}},
		"everything": {
			args: []string{"--image", "x", "--env", "A=1=2", "--env", "B=", "--param", "P=d", "--required-param", "R",
				"--file", "/etc/c.yaml=./config.yaml", "--file", "/bin/blob=./blob", "--memory", "1Gi", "--cpu", "2",
				"--requests-memory", "512Mi", "--requests-cpu", "1", "--timeout", "none", "--retention", "1d", "--retries", "2",
				"--service-account", "sa", "--image-pull-secret", "p1", "--image-pull-secret", "p2", "--env-from-secret", "e",
				"--description", "hi", "--arg", "-v"},
			command: []string{"run", "it"},
			want: func(s *jobdef.Spec) {
				s.Image, s.Env = "x", []jobdef.EnvVar{{Name: "A", Value: "1=2"}, {Name: "B"}}
				s.Parameters = []jobdef.Parameter{{Name: "P", Default: "d"}, {Name: "R", Required: true}}
				s.Files = []jobdef.File{{Path: "/etc/c.yaml", Content: "a: 1\n"}, {Path: "/bin/blob", BinaryContent: []byte{0xff, 0xfe}}}
				s.Resources = jobdef.Resources{Memory: "1Gi", CPU: "2", RequestsMemory: "512Mi", RequestsCPU: "1"}
				s.Timeout, s.Retention, s.Retries, s.ServiceAccountName = "none", "1d", 2, "sa"
				s.ImagePullSecrets, s.EnvFromSecrets, s.Description = []string{"p1", "p2"}, []string{"e"}, "hi"
				s.Command, s.Args = []string{"run", "it"}, []string{"-v"}
			}},
		"tag twice":      {args: []string{"--image", "x:1", "--tag", "2"}, wantErr: "tag is given twice"},
		"bad image":      {args: []string{"--image", "Not An Image"}, wantErr: "invalid image reference"},
		"env without =":  {args: []string{"--image", "x", "--env", "A"}, wantErr: `invalid --env "A": want NAME=VALUE`},
		"param no name":  {args: []string{"--image", "x", "--param", "=1"}, wantErr: "invalid --param"},
		"file no local":  {args: []string{"--image", "x", "--file", "/a="}, wantErr: "no local file"},
		"missing file":   {args: []string{"--image", "x", "--file", "/a=./nope"}, wantErr: "cannot read --file /a=./nope: open ./nope"},
		"env twice":      {args: []string{"--image", "x", "--env", "A=1", "--env", "A=2"}, wantErr: `env "A" is given twice`},
		"param twice":    {args: []string{"--image", "x", "--param", "A=1", "--required-param", "A"}, wantErr: `parameter "A" is given twice`},
		"file twice":     {args: []string{"--image", "x", "--file", "/a=./blob", "--file", "/a=./config.yaml"}, wantErr: `file path "/a" is given twice`},
		"label no value": {args: []string{"--image", "x", "--label", "team"}, wantErr: "invalid --label"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			o := &CreateOptions{jobWrite: jobWrite{Name: "job", Job: *parseJobFlags(t, false, tc.args...)}}
			o.Job.Command = tc.command
			j, err := o.build("ns")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := jobdef.New("ns", "job")
			tc.want(&want.Spec)
			if !apiequality.Semantic.DeepEqual(j, want) {
				t.Fatalf("job:\n got %+v\nwant %+v", j.Spec, want.Spec)
			}
			if err := j.Validate(); err != nil {
				t.Fatalf("built job invalid: %v", err)
			}
		})
	}
}

func TestSetChange(t *testing.T) {
	stored := jobdef.New("ns", "job")
	stored.Labels = map[string]string{"team": "a", "old": "x"}
	s := &stored.Spec
	s.Image, s.Tag, s.Command = "ghcr.io/acme/migrate", "1.4", []string{"migrate"}
	s.Env = []jobdef.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}
	s.Parameters = []jobdef.Parameter{{Name: "P", Default: "x"}}
	s.Files = []jobdef.File{{Path: "/etc/old", Content: "o"}}
	s.ImagePullSecrets = []string{"pull"}

	o := &SetOptions{jobWrite: jobWrite{Job: *parseJobFlags(t, true, "--tag", "1.5", "--env", "B=3", "--env", "C=4", "--unset-env", "A",
		"--unset-param", "P", "--required-param", "R", "--unset-file", "/etc/old", "--file", "/etc/new=./config.yaml",
		"--label", "team=b", "--unset-label", "old", "--timeout", "1h", "--image-pull-secret=", "--unset-command")}}
	if !o.Job.given() {
		t.Fatal("flags not seen as given")
	}
	got, err := o.change(stored)
	if err != nil {
		t.Fatal(err)
	}
	want := stored.DeepCopy()
	want.Labels = map[string]string{"team": "b"}
	w := &want.Spec
	w.Tag, w.Timeout, w.Command, w.ImagePullSecrets = "1.5", "1h", nil, nil
	w.Env = []jobdef.EnvVar{{Name: "B", Value: "3"}, {Name: "C", Value: "4"}}
	w.Parameters = []jobdef.Parameter{{Name: "R", Required: true}}
	w.Files = []jobdef.File{{Path: "/etc/new", Content: "a: 1\n"}}
	if !apiequality.Semantic.DeepEqual(got, want) {
		t.Fatalf("changed:\n got %+v\nwant %+v", got.Spec, want.Spec)
	}
	if stored.Spec.Tag != "1.4" || len(stored.Spec.Env) != 2 {
		t.Fatal("change modified the stored job")
	}

	if _, err := (&SetOptions{jobWrite: jobWrite{Job: *parseJobFlags(t, true, "--env", "R=1")}}).change(want); err == nil ||
		!strings.Contains(err.Error(), "both a static env and a parameter") {
		t.Fatalf("env clashing with a parameter: %v", err)
	}
	if (&SetOptions{jobWrite: jobWrite{Name: "job", Job: *parseJobFlags(t, true)}}).Validate() != errNoChanges {
		t.Fatal("set without flags accepted")
	}
	keep, _ := (&SetOptions{jobWrite: jobWrite{Job: *parseJobFlags(t, true, "--image", "ghcr.io/acme/other")}}).change(stored)
	if keep.Spec.Image != "ghcr.io/acme/other" || keep.Spec.Tag != "1.4" {
		t.Fatalf("--image without a tag must keep the tag: %+v", keep.Spec)
	}
}

func TestReadLocalFileLimit(t *testing.T) {
	dir := t.TempDir()
	big := dir + "/big"
	if err := writeSized(big, jobdef.MaxSecretBytes+1); err != nil {
		t.Fatal(err)
	}
	if _, err := readLocalFile(big); err == nil || !strings.Contains(err.Error(), "file too large") {
		t.Fatalf("error = %v", err)
	}
	if _, err := readLocalFile(dir); err == nil {
		t.Fatal("reading a directory succeeded")
	}
	if _, err := readLocalFile(dir + "/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v", err)
	}
}

var hex64 = strings.Repeat("0123456789abcdef", 4)

func writeSized(path string, n int) error { return os.WriteFile(path, make([]byte, n), 0o644) }
