package jobdef

import (
	"strings"
	"testing"
	"time"
)

func validJob() *Job {
	j := New("ns", "migrate")
	j.Spec.Image = "ghcr.io/acme/migrate"
	j.Spec.Tag = "1.4"
	return j
}

// TestValidateNamesTheField: every problem names its field, for the
// stored-definition error and for front ends that show it by the field.
func TestValidateNamesTheField(t *testing.T) {
	for field, mutate := range map[string]func(*Job){
		"spec.serviceAccountName":    func(j *Job) { j.Spec.ServiceAccountName = "A" },
		"spec.imagePullSecrets[1]":   func(j *Job) { j.Spec.ImagePullSecrets = []string{"ok", "not ok"} },
		"spec.resources.memory":      func(j *Job) { j.Spec.Resources.Memory = "lots" },
		"spec.resources.requestsCPU": func(j *Job) { j.Spec.Resources.RequestsCPU = "9" },
		"spec.files[1].path":         func(j *Job) { j.Spec.Files = []File{{Path: "/a"}, {Path: "/a"}} },
		"spec.parameters[0].name":    func(j *Job) { j.Spec.Parameters = []Parameter{{Name: "a-b"}} },
		"spec.timeout":               func(j *Job) { j.Spec.Timeout = "soon" },
		"metadata.name":              func(j *Job) { j.Name = "A" },
	} {
		j := validJob()
		mutate(j)
		err := j.Validate()
		if got := FieldOf(err); got != field {
			t.Errorf("%v: field %q, want %q", err, got, field)
		}
		ie := j.CheckStored()
		want := "job " + j.Name + " in namespace ns is invalid: " + field + ": "
		if !IsInvalid(ie) || !strings.HasPrefix(ie.Error(), want) || !strings.HasSuffix(ie.Error(), "; fix it with 'kubectl shipjob edit "+j.Name+"'") {
			t.Errorf("CheckStored = %q, want %q…", ie, want)
		}
	}
}

func TestValidate(t *testing.T) {
	cases := map[string]struct {
		mutate  func(*Job)
		wantErr string // "" = valid
	}{
		"defaults":               {func(*Job) {}, ""},
		"digest only":            {func(j *Job) { j.Spec.Tag, j.Spec.Digest = "", "sha256:"+strings.Repeat("a", 64) }, ""},
		"everything":             {fullSpec, ""},
		"no name":                {func(j *Job) { j.Name = "" }, "a job name is required"},
		"upper-case name":        {func(j *Job) { j.Name = "Migrate" }, `invalid job name "Migrate"`},
		"name too long":          {func(j *Job) { j.Name = strings.Repeat("a", 53) }, "at most 52 characters"},
		"name at limit":          {func(j *Job) { j.Name = strings.Repeat("a", 52) }, ""},
		"reserved label":         {func(j *Job) { j.Labels = map[string]string{"shipjob.dev/x": "y"} }, "prefix is reserved"},
		"bad label value":        {func(j *Job) { j.Labels = map[string]string{"a": "not ok"} }, "invalid label value"},
		"no image":               {func(j *Job) { j.Spec.Image = "" }, "an image is required"},
		"image with tag":         {func(j *Job) { j.Spec.Image = "busybox:1" }, "give the repository only"},
		"bad image":              {func(j *Job) { j.Spec.Image = "Bad Image" }, "invalid image reference"},
		"bad tag":                {func(j *Job) { j.Spec.Tag = "-x" }, "invalid image tag"},
		"bad digest":             {func(j *Job) { j.Spec.Digest = "sha256:zz" }, "invalid image digest"},
		"no tag nor digest":      {func(j *Job) { j.Spec.Tag = "" }, "tag or digest is required"},
		"bad registry name":      {func(j *Job) { j.Spec.Registry = "Acme" }, "invalid registry name"},
		"bad pull secret":        {func(j *Job) { j.Spec.ImagePullSecrets = []string{"a b"} }, "invalid image pull secret"},
		"bad env name":           {func(j *Job) { j.Spec.Env = []EnvVar{{Name: "1A"}} }, `invalid env name "1A"`},
		"env twice":              {func(j *Job) { j.Spec.Env = []EnvVar{{Name: "A"}, {Name: "A"}} }, "given twice"},
		"bad param name":         {func(j *Job) { j.Spec.Parameters = []Parameter{{Name: "a-b"}} }, "invalid parameter name"},
		"env and param":          {func(j *Job) { j.Spec.Env, j.Spec.Parameters = []EnvVar{{Name: "A"}}, []Parameter{{Name: "A"}} }, "both a static env and a parameter"},
		"required with default":  {func(j *Job) { j.Spec.Parameters = []Parameter{{Name: "A", Default: "x", Required: true}} }, "cannot have a default"},
		"relative file":          {func(j *Job) { j.Spec.Files = []File{{Path: "etc/x"}} }, "must be absolute"},
		"unclean file":           {func(j *Job) { j.Spec.Files = []File{{Path: "/etc/../x"}} }, "must be a clean path"},
		"file twice":             {func(j *Job) { j.Spec.Files = []File{{Path: "/x"}, {Path: "/x"}} }, "mounted twice"},
		"bad memory":             {func(j *Job) { j.Spec.Resources.Memory = "lots" }, `invalid memory "lots"`},
		"zero cpu":               {func(j *Job) { j.Spec.Resources.CPU = "0" }, "must be more than 0"},
		"request over limit":     {func(j *Job) { j.Spec.Resources.RequestsMemory = "1Gi" }, "more than its limit"},
		"bad timeout":            {func(j *Job) { j.Spec.Timeout = "soon" }, `invalid timeout "soon"`},
		"bad retention":          {func(j *Job) { j.Spec.Retention = "-1h" }, `invalid retention "-1h"`},
		"negative retries":       {func(j *Job) { j.Spec.Retries = -1 }, "invalid retries"},
		"bad service account":    {func(j *Job) { j.Spec.ServiceAccountName = "A" }, "invalid service account"},
		"newline in account":     {func(j *Job) { j.Spec.ServiceAccountName = "default\n  hostPID: true" }, "invalid service account"},
		"nested file":            {func(j *Job) { j.Spec.Files = []File{{Path: "/a/b"}, {Path: "/a"}} }, `file path "/a/b" is inside "/a"`},
		"deeply nested file":     {func(j *Job) { j.Spec.Files = []File{{Path: "/a"}, {Path: "/a/b/c"}} }, `is inside "/a"`},
		"sibling files":          {func(j *Job) { j.Spec.Files = []File{{Path: "/a/b"}, {Path: "/a/c"}, {Path: "/ab"}} }, ""},
		"tag override no digest": {func(j *Job) { j.Spec.AllowTagOverride = true }, "only for a job pinned to a digest"},
		"params over 256 KiB":    {func(j *Job) { j.Spec.Parameters = []Parameter{{Name: "P", Default: strings.Repeat("x", 253<<10)}} }, "the API server allows 256 KiB"},
		"env over the record":    {func(j *Job) { j.Spec.Env = []EnvVar{{Name: "E", Value: strings.Repeat("x", 400<<10)}} }, "a Secret holds 1024 KiB"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			j := validJob()
			tc.mutate(j)
			err := j.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func fullSpec(j *Job) {
	j.Labels = map[string]string{"team": "data"}
	j.Spec = Spec{
		Description: "d", Image: "migrate", Tag: "1", Registry: "acme", ImagePullSecrets: []string{"pull"},
		Command: []string{"run"}, Args: []string{"-v"}, Env: []EnvVar{{Name: "A", Value: "1"}},
		EnvFromSecrets: []string{"env"}, Parameters: []Parameter{{Name: "P", Default: "x"}, {Name: "R", Required: true}},
		Files:     []File{{Path: "/etc/a", Content: "a"}, {Path: "/etc/b", BinaryContent: []byte{0xff}}},
		Resources: Resources{Memory: "1Gi", CPU: "2", RequestsMemory: "512Mi", RequestsCPU: "500m"},
		Timeout:   "none", Retention: "14d", Retries: 3, ServiceAccountName: "runner",
	}
}

func TestParseDuration(t *testing.T) {
	cases := map[string]struct {
		in      string
		want    time.Duration
		ok, err bool
	}{
		"minutes":  {"15m", 15 * time.Minute, true, false},
		"days":     {"14d", 14 * 24 * time.Hour, true, false},
		"none":     {"none", 0, false, false},
		"spaces":   {" 2h ", 2 * time.Hour, true, false},
		"zero":     {"0s", 0, false, true},
		"negative": {"-5m", 0, false, true},
		"fraction": {"1500ms", 0, false, true},
		"bad days": {"xd", 0, false, true},
		"garbage":  {"soon", 0, false, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d, ok, err := ParseDuration("timeout", tc.in)
			if (err != nil) != tc.err || d != tc.want || ok != tc.ok {
				t.Fatalf("ParseDuration(%q) = %v, %v, %v; want %v, %v, err %v", tc.in, d, ok, err, tc.want, tc.ok, tc.err)
			}
		})
	}
}

func TestSplitImage(t *testing.T) {
	cases := map[string][4]string{ // in: repo, tag, digest, error substring
		"busybox":                          {"busybox", "", "", ""},
		"ghcr.io/acme/migrate:1.4":         {"ghcr.io/acme/migrate", "1.4", "", ""},
		"localhost:5000/x@sha256:" + hex64: {"localhost:5000/x", "", "sha256:" + hex64, ""},
		"bad image":                        {"", "", "", "invalid image reference"},
		"x:":                               {"", "", "", "invalid image reference"},
	}
	for in, want := range cases {
		repo, tag, digest, err := SplitImage(in)
		if want[3] != "" {
			if err == nil || !strings.Contains(err.Error(), want[3]) {
				t.Errorf("SplitImage(%q) error = %v, want %q", in, err, want[3])
			}
			continue
		}
		if err != nil || repo != want[0] || tag != want[1] || digest != want[2] {
			t.Errorf("SplitImage(%q) = %q %q %q %v, want %q", in, repo, tag, digest, err, want[:3])
		}
	}
}

var hex64 = strings.Repeat("0123456789abcdef", 4)

// TestParseDurationIsPostrendersGrammar: timeouts and retentions read what
// `postrender --ttl` reads (one grammar), but must be positive.
func TestParseDurationIsPostrendersGrammar(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "3600": time.Hour, "14d": 14 * 24 * time.Hour, "1d12h": 36 * time.Hour, " 15m ": 15 * time.Minute} {
		d, ok, err := ParseDuration("timeout", in)
		if err != nil || !ok || d != want {
			t.Errorf("%q: %v %v %v, want %v", in, d, ok, err, want)
		}
	}
	if _, ok, err := ParseDuration("timeout", "none"); ok || err != nil {
		t.Errorf("none: %v %v", ok, err)
	}
	for in, msg := range map[string]string{"0": "use a duration like", "0s": "use a duration like", "-5m": "use a duration like", "1.5s": "must be whole seconds",
		"soon": "use a duration like", "NONE": "use a duration like", "100000000000": "use a duration like", "1000000d": "use a duration like", "600000h": "larger than"} {
		if _, _, err := ParseDuration("timeout", in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want an error with %q", in, err, msg)
		}
	}
}
