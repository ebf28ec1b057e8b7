package ui

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// fullJob is a definition with every field of a job definition set
// (TestJobFormCoversEveryField checks that it stays so).
func fullJob() *jobdef.Job {
	j := jobdef.New("team", "migrate")
	j.ResourceVersion = "42"
	j.Labels = map[string]string{"team": "db", "tier": "batch"}
	s := &j.Spec
	s.Digest, s.AllowTagOverride = "sha256:"+strings.Repeat("ab", 32), true
	s.Args = []string{"up", "--steps=5"}
	s.EnvFromSecrets = []string{"db-creds", "api-keys"}
	s.Resources.RequestsMemory, s.Resources.RequestsCPU = "256Mi", "500m"
	s.RetentionFailed = "720h"
	s.Tasks, s.Parallelism, s.ConcurrencyPolicy = 4, 2, jobdef.ForbidConcurrent
	three, zero, five, thirty := int32(3), int32(0), int32(5), int32(30)
	s.MaxActiveRuns, s.SucceededRunsHistoryLimit, s.FailedRunsHistoryLimit, s.MaxRunsPerMinute = &three, &zero, &five, &thirty
	s.Notifications = []jobdef.Notification{
		{URL: "https://hooks.example.com/a", On: []jobdef.Outcome{jobdef.OutcomeFailed, jobdef.OutcomeCancelled}, Format: jobdef.FormatSlack},
		{URL: "https://hooks.example.com/b"}}
	s.Description, s.Registry, s.Image, s.Tag = "Database migrations", "ghcr", "acme/migrate", "1.4"
	s.Resources.Memory, s.Resources.CPU = "512Mi", "750m"
	s.Timeout, s.Retention, s.Retries, s.ServiceAccountName = "15m", "336h", 3, "migrator"
	s.ImagePullSecrets = []string{"pull-a", "pull-b"}
	s.Command = []string{"/bin/migrate"}
	s.Env = []jobdef.EnvVar{{Name: "LOG_LEVEL", Value: "debug"}, {Name: "EMPTY", Value: ""}}
	s.Parameters = []jobdef.Parameter{
		{Name: "TARGET", Default: "latest", Description: "version", Pattern: "^[a-z0-9.]+$"},
		{Name: "STEPS", Required: true, Type: jobdef.ParamInteger},
		{Name: "MODE", Default: "up", Enum: []string{"up", "down"}},
		{Name: "TOKEN", Default: "s3cr3t", Secret: true, Description: "API token"},
	}
	s.Files = []jobdef.File{{Path: "/etc/migrate/config.yaml", Content: "a: 1\n"},
		{Path: "/etc/migrate/blob.bin", BinaryContent: []byte{0xff, 0x00, 0xfe}}}
	s.StartingDeadline = "10m"
	s.Schedules = []jobdef.Schedule{
		{Name: "nightly", Cron: "0 3 * * *", TimeZone: "Europe/Helsinki", Parameters: []jobdef.ScheduleParam{
			{Name: "STEPS", Value: "5"}, {Name: "TOKEN", SecretRef: &jobdef.SecretKeyRef{Name: "tokens", Key: "nightly"}},
			{Name: "MODE", Value: "down"}}},
		{Name: "hourly", Cron: "@hourly", Suspend: true, Parameters: []jobdef.ScheduleParam{{Name: "STEPS", Value: "1"}}},
	}
	return j
}

// submitted is what the browser posts for a form shown as f (the field
// names of templates/job_form.html), a preset quantity as its preset.
func submitted(f *jobForm) url.Values {
	v := url.Values{"name": {f.Name}, "resourceVersion": {f.ResourceVersion}, "description": {f.Description},
		"registry": {f.Registry}, "image": {f.Image}, "tag": {f.Tag}, "timeout": {f.Timeout},
		"retention": {f.Retention}, "retries": {f.Retries}, "serviceAccount": {f.ServiceAccount},
		"pullSecrets": {f.PullSecrets}, "memory": {"custom"}, "memory.custom": {f.Memory}, "cpu": {"custom"},
		"cpu.custom": {f.CPU}}
	for i, e := range f.Env {
		v.Set(fmt.Sprintf("env.%d.name", i), e.Name)
		v.Set(fmt.Sprintf("env.%d.value", i), e.Value)
	}
	for i, p := range f.Params {
		v.Set(fmt.Sprintf("param.%d.name", i), p.Name)
		v.Set(fmt.Sprintf("param.%d.default", i), p.Value)
		if p.Required {
			v.Set(fmt.Sprintf("param.%d.required", i), "on")
		}
		if p.Secret {
			v.Set(fmt.Sprintf("param.%d.secret", i), "on")
		}
		v.Set(fmt.Sprintf("param.%d.type", i), p.Type)
		v.Set(fmt.Sprintf("param.%d.enum", i), p.Enum)
		v.Set(fmt.Sprintf("param.%d.pattern", i), p.Pattern)
		v.Set(fmt.Sprintf("param.%d.description", i), p.Description)
	}
	for i, file := range f.Files {
		v.Set(fmt.Sprintf("file.%d.path", i), file.Path)
		v.Set(fmt.Sprintf("file.%d.content", i), file.Content)
	}
	v.Set("startingDeadline", f.StartingDeadline)
	sf := f.specFields
	for k, val := range map[string]string{"labels": sf.Labels, "digest": sf.Digest, "command": sf.Command,
		"args": sf.Args, "envFromSecrets": sf.EnvFromSecrets, "requestsMemory": sf.RequestsMemory,
		"requestsCPU": sf.RequestsCPU, "retentionFailed": sf.RetentionFailed, "tasks": sf.Tasks,
		"parallelism": sf.Parallelism, "concurrencyPolicy": sf.Concurrency, "maxActiveRuns": sf.MaxActiveRuns,
		"maxRunsPerMinute": sf.MaxRunsPerMinute, "succeededRunsHistoryLimit": sf.SucceededHistory,
		"failedRunsHistoryLimit": sf.FailedHistory} {
		v.Set(k, val)
	}
	if sf.AllowTagOverride {
		v.Set("allowTagOverride", "1")
	}
	for i, n := range sf.Notifications {
		v.Set(fmt.Sprintf("notif.%d.url", i), n.URL)
		v.Set(fmt.Sprintf("notif.%d.format", i), n.Format)
		for _, o := range n.On {
			v.Set(fmt.Sprintf("notif.%d.on.%s", i, o), "1")
		}
	}
	for i, sc := range f.Schedules {
		pre := fmt.Sprintf("sched.%d.", i)
		v.Set(pre+"name", sc.Name)
		v.Set(pre+"cron", sc.Cron)
		v.Set(pre+"zone", sc.TimeZone)
		if sc.Suspend {
			v.Set(pre+"suspend", "1")
		}
		for k, p := range sc.Params {
			pp := fmt.Sprintf("%sp.%d.", pre, k)
			v.Set(pp+"name", p.Name)
			if p.Kind == "secret" {
				v.Set(pp+"secretName", p.SecretName)
				v.Set(pp+"secretKey", p.SecretKey)
			} else {
				v.Set(pp+"value", p.Value)
			}
		}
	}
	return v
}

func urlencodedPost(v url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// postMultipart posts v with files: upload key → file name and content.
func postMultipart(t *testing.T, v url.Values, files map[string][2]string) *http.Request {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vals := range v {
		for _, val := range vals {
			if err := mw.WriteField(k, val); err != nil {
				t.Fatal(err)
			}
		}
	}
	for key, file := range files {
		w, err := mw.CreateFormFile(key, file[0])
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(file[1]))
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/", &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	if err := r.ParseMultipartForm(maxBody); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFormOfShowsEveryField(t *testing.T) {
	f := formOf(fullJob())
	want := &jobForm{Name: "migrate", ResourceVersion: "42", Description: "Database migrations", Registry: "ghcr",
		Image: "acme/migrate", Tag: "1.4", Memory: "512Mi", CPU: "750m", Timeout: "15m", Retention: "336h",
		Retries: "3", ServiceAccount: "migrator", PullSecrets: "pull-a, pull-b",
		Env: []row{{Name: "LOG_LEVEL", Value: "debug"}, {Name: "EMPTY"}},
		Params: []row{{Name: "TARGET", Value: "latest", Description: "version", Pattern: "^[a-z0-9.]+$"},
			{Name: "STEPS", Required: true, Type: jobdef.ParamInteger}, {Name: "MODE", Value: "up", Enum: "up, down"},
			{Name: "TOKEN", Secret: true, Stored: true, Description: "API token"}},
		Files: []fileRow{{Path: "/etc/migrate/config.yaml", Content: base64.StdEncoding.EncodeToString([]byte("a: 1\n")), Size: 5},
			{Path: "/etc/migrate/blob.bin", Content: base64.StdEncoding.EncodeToString([]byte{0xff, 0, 0xfe}), Size: 3}},
		StartingDeadline: "10m", paramDefs: fullJob().Spec.Parameters,
		specFields: specFields{Labels: "team=db, tier=batch", Digest: "sha256:" + strings.Repeat("ab", 32),
			AllowTagOverride: true, Command: "/bin/migrate", Args: "up\n--steps=5", EnvFromSecrets: "db-creds, api-keys",
			RequestsMemory: "256Mi", RequestsCPU: "500m", RetentionFailed: "720h", Tasks: "4", Parallelism: "2",
			Concurrency: "Forbid", MaxActiveRuns: "3", MaxRunsPerMinute: "30", SucceededHistory: "0", FailedHistory: "5",
			Notifications: []notifRow{{URL: "https://hooks.example.com/a", Format: "slack",
				On: []jobdef.Outcome{jobdef.OutcomeFailed, jobdef.OutcomeCancelled}}, {URL: "https://hooks.example.com/b"}}},
		Schedules: []schedRow{
			{Name: "nightly", Cron: "0 3 * * *", TimeZone: "Europe/Helsinki", Errors: map[string]string{}, Params: []schedParam{
				{Name: "STEPS", Value: "5", Kind: "number"}, {Name: "TOKEN", SecretName: "tokens", SecretKey: "nightly", Kind: "secret"},
				{Name: "MODE", Value: "down", Kind: "select", Enum: []string{"up", "down"}}, {Name: "TARGET", Kind: "text"}}},
			{Name: "hourly", Cron: "@hourly", Suspend: true, Errors: map[string]string{}, Params: []schedParam{
				{Name: "STEPS", Value: "1", Kind: "number"}, {Name: "TARGET", Kind: "text"},
				{Name: "MODE", Kind: "select", Enum: []string{"up", "down"}}, {Name: "TOKEN", Kind: "secret"}}},
		}}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("formOf:\n got %+v\nwant %+v", f, want)
	}
	// A secret parameter without a default has nothing stored.
	j := fullJob()
	j.Spec.Parameters = []jobdef.Parameter{{Name: "TOKEN", Secret: true}}
	if got := formOf(j).Params[0]; got != (row{Name: "TOKEN", Secret: true}) {
		t.Errorf("secret without default: %+v", got)
	}
}

func TestFinishAddsPresetsAndBlankRows(t *testing.T) {
	f := formOf(fullJob())
	regs := []jobdef.Registry{{Name: "ghcr"}}
	f.finish(regs)
	if len(f.Env) != 2+blankRows || len(f.Params) != 4+blankRows || f.Env[2] != (row{}) || f.Params[5] != (row{}) {
		t.Errorf("blank rows: env %+v params %+v", f.Env, f.Params)
	}
	if len(f.Uploads) != blankRows || f.Uploads[0].Name != "0" || f.Uploads[1].Name != "1" {
		t.Errorf("upload slots: %+v", f.Uploads)
	}
	if !reflect.DeepEqual(f.Registries, regs) || !reflect.DeepEqual(f.MemoryPresets, memoryPresets) ||
		!reflect.DeepEqual(f.CPUPresets, cpuPresets) || f.Errors == nil {
		t.Errorf("finish: %+v", f)
	}
	// A form shown again keeps its errors and gets fresh upload slots.
	f.Errors["spec.timeout"] = "bad"
	f.finish(regs)
	if f.Errors["spec.timeout"] != "bad" || len(f.Uploads) != blankRows {
		t.Errorf("finish again: errors %v uploads %+v", f.Errors, f.Uploads)
	}
}

// TestJobFormRoundTrip: a definition shown in the form and saved unchanged
// is the same definition, hidden fields and the secret default included.
func TestJobFormRoundTrip(t *testing.T) {
	orig := fullJob()
	f := parseForm(urlencodedPost(submitted(formOf(orig))))
	if len(f.Errors) != 0 {
		t.Fatalf("errors: %v", f.Errors)
	}
	j := orig.DeepCopy()
	f.apply(j)
	if len(f.Errors) != 0 {
		t.Fatalf("apply errors: %v", f.Errors)
	}
	if !reflect.DeepEqual(j, orig) {
		t.Fatalf("round trip changed the definition:\n got %+v\nwant %+v", j.Spec, orig.Spec)
	}
	if err := j.Validate(); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	// The form shown again never carries the secret default.
	for _, p := range f.Params {
		if p.Name == "TOKEN" && (p.Value != "" || !p.Secret || !p.Stored) {
			t.Errorf("TOKEN row after apply: %+v", p)
		}
	}
	// On a new job, every field comes out the same.
	fresh := jobdef.New("team", "migrate")
	f = parseForm(urlencodedPost(submitted(formOf(orig))))
	f.apply(fresh)
	fresh.Spec.Parameters[3].Default = "s3cr3t" // write-only: never in the form
	fresh.ResourceVersion = orig.ResourceVersion
	if !reflect.DeepEqual(fresh, orig) {
		t.Fatalf("new job from the form:\n got %+v\nwant %+v", fresh.Spec, orig.Spec)
	}
}

func TestParseFormTrimsAndSkipsBlankRows(t *testing.T) {
	v := url.Values{"name": {"  migrate "}, "image": {" acme/migrate "}, "tag": {" 2 "}, "description": {" d "},
		"memory": {"256Mi"}, "memory.custom": {"999Mi"}, "cpu": {""}, "cpu.custom": {" 300m "},
		"timeout": {" 5m "}, "retention": {" 1d "}, "retries": {" 2 "}, "serviceAccount": {" sa "},
		"pullSecrets": {" a, ,b "},
		"env.0.name":  {" A "}, "env.0.value": {" keep spaces "}, "env.1.name": {""}, "env.1.value": {""},
		"env.2.name": {"B"}, "env.2.value": {"2"},
		"param.0.name": {""}, "param.0.default": {""}, "param.1.name": {" P "}, "param.1.default": {" d "},
		"param.1.required": {"on"}, "param.1.clear": {"1"}, "param.2.name": {""}, "param.2.required": {"on"},
		"file.0.path": {" /a "}, "file.0.content": {base64.StdEncoding.EncodeToString([]byte("x"))},
		"file.1.path": {"/gone"}, "file.1.content": {""}, "file.1.remove": {"1"},
		"file.2.path": {"/bad"}, "file.2.content": {"%%% not base64"}}
	f := parseForm(urlencodedPost(v))
	if f.Name != "migrate" || f.Image != "acme/migrate" || f.Tag != "2" || f.Description != "d" ||
		f.Memory != "256Mi" || f.CPU != "300m" || f.Timeout != "5m" || f.Retention != "1d" || f.Retries != "2" ||
		f.ServiceAccount != "sa" || f.PullSecrets != "a, ,b" {
		t.Errorf("scalars: %+v", f)
	}
	if want := []row{{Name: "A", Value: " keep spaces "}, {Name: "B", Value: "2"}}; !reflect.DeepEqual(f.Env, want) {
		t.Errorf("env %+v, want %+v", f.Env, want)
	}
	if want := []row{{Name: "P", Value: " d ", Required: true, Clear: true}, {Required: true}}; !reflect.DeepEqual(f.Params, want) {
		t.Errorf("params %+v, want %+v", f.Params, want)
	}
	want := []fileRow{{Path: "/a", Content: base64.StdEncoding.EncodeToString([]byte("x")), Size: 1}, {Path: "/bad"}}
	if !reflect.DeepEqual(f.Files, want) {
		t.Errorf("files %+v, want %+v", f.Files, want)
	}
	if len(f.Errors) != 0 {
		t.Errorf("errors: %v", f.Errors)
	}
}

func TestChoice(t *testing.T) {
	for _, c := range []struct{ preset, custom, want string }{
		{"256Mi", "1Gi", "256Mi"}, {"custom", " 1Gi ", "1Gi"}, {"", " 3Gi", "3Gi"}, {"custom", "", ""},
	} {
		if got := choice(c.preset, c.custom); got != c.want {
			t.Errorf("choice(%q, %q) = %q, want %q", c.preset, c.custom, got, c.want)
		}
	}
}

func TestParseFormUploads(t *testing.T) {
	v := url.Values{"image": {"x"}, "upload.0.path": {" /etc/app.conf "}, "upload.1.path": {""}}
	f := parseForm(postMultipart(t, v, map[string][2]string{"upload.0.content": {"app.conf", "k=v"}}))
	want := []fileRow{{Path: "/etc/app.conf", Content: base64.StdEncoding.EncodeToString([]byte("k=v")), Size: 3}}
	if !reflect.DeepEqual(f.Files, want) || len(f.Errors) != 0 {
		t.Fatalf("upload: files %+v errors %v", f.Files, f.Errors)
	}
	// A file chosen without a path is a field error, and not added.
	f = parseForm(postMultipart(t, url.Values{"upload.0.path": {""}}, map[string][2]string{"upload.1.content": {"x.sh", "echo"}}))
	if len(f.Files) != 0 || !strings.Contains(f.Errors["upload"], "x.sh") {
		t.Fatalf("upload without path: files %+v errors %v", f.Files, f.Errors)
	}
	// No upload at all, a plain form: nothing.
	f = parseForm(urlencodedPost(url.Values{"image": {"x"}}))
	if len(f.Files) != 0 || len(f.Errors) != 0 {
		t.Fatalf("no upload: %+v %v", f.Files, f.Errors)
	}
}

func TestApplyImageReferenceAndDefaults(t *testing.T) {
	for name, c := range map[string]struct {
		image, tag                     string
		wantImage, wantTag, wantDigest string
	}{
		"repo and tag":          {"ghcr.io/acme/migrate", "1.4", "ghcr.io/acme/migrate", "1.4", ""},
		"no tag: default":       {"ghcr.io/acme/migrate", "", "ghcr.io/acme/migrate", jobdef.DefaultTag, ""},
		"tag in the reference":  {"ghcr.io/acme/migrate:2.0", "", "ghcr.io/acme/migrate", "2.0", ""},
		"reference over latest": {"ghcr.io/acme/migrate:2.0", jobdef.DefaultTag, "ghcr.io/acme/migrate", "2.0", ""},
		"explicit tag wins":     {"ghcr.io/acme/migrate:2.0", "3.0", "ghcr.io/acme/migrate:2.0", "3.0", ""},
		"digest": {"ghcr.io/acme/migrate@sha256:" + strings.Repeat("a", 64), "", "ghcr.io/acme/migrate", "",
			"sha256:" + strings.Repeat("a", 64)},
	} {
		t.Run(name, func(t *testing.T) {
			j := jobdef.New("team", "migrate")
			f := &jobForm{Image: c.image, Tag: c.tag, Retries: "0", Errors: map[string]string{}}
			f.apply(j)
			if j.Spec.Image != c.wantImage || j.Spec.Tag != c.wantTag || j.Spec.Digest != c.wantDigest {
				t.Errorf("image %q tag %q digest %q", j.Spec.Image, j.Spec.Tag, j.Spec.Digest)
			}
		})
	}
}

func TestApplyBadInput(t *testing.T) {
	for _, retries := range []string{"", "many", "1.5", "99999999999"} {
		j := fullJob()
		f := &jobForm{Image: "x", Retries: retries, Errors: map[string]string{}}
		f.apply(j)
		if !strings.Contains(f.Errors["spec.retries"], strconv.Quote(retries)) || j.Spec.Retries != 3 {
			t.Errorf("retries %q: errors %v, retries %d (want kept)", retries, f.Errors, j.Spec.Retries)
		}
	}
	// What the form accepts but the definition does not: Validate names
	// the field, and fieldError puts it there.
	j := jobdef.New("team", "migrate")
	f := &jobForm{Image: "x", Retries: "0", Timeout: "soon", Memory: "lots", CPU: "1",
		Env: []row{{Name: "OK"}, {Name: "1BAD"}}, Errors: map[string]string{}}
	f.apply(j)
	err := j.Validate()
	if err == nil || !f.fieldError(err) {
		t.Fatalf("validate: %v", err)
	}
	if len(f.Errors) == 0 && f.Env[1].Error == "" {
		t.Fatalf("no field marked for %v (field %s)", err, jobdef.FieldOf(err))
	}
}

func TestApplySecretParameterDefault(t *testing.T) {
	for name, c := range map[string]struct {
		value  string
		clear  bool
		want   string
		stored bool
	}{
		"empty keeps":     {"", false, "s3cr3t", true},
		"value replaces":  {"new", false, "new", true},
		"clear removes":   {"", true, "", false},
		"value and clear": {"new", true, "new", true},
	} {
		t.Run(name, func(t *testing.T) {
			j := fullJob()
			f := &jobForm{Image: "acme/migrate", Retries: "0", Errors: map[string]string{},
				Params: []row{{Name: "TOKEN", Value: c.value, Clear: c.clear, Secret: true}}}
			f.apply(j)
			if got := j.Spec.Parameters; len(got) != 1 || got[0].Default != c.want || !got[0].Secret {
				t.Fatalf("parameters %+v, want TOKEN default %q", got, c.want)
			}
			if r := f.Params[0]; r.Value != "" || !r.Secret || r.Stored != c.stored || r.Clear {
				t.Errorf("row shown again: %+v", r)
			}
		})
	}
	// A secret parameter renamed, or made not secret, loses its default:
	// the form never had it.
	for _, r := range []row{{Name: "TOKEN2", Secret: true}, {Name: "TOKEN"}} {
		j := fullJob()
		f := &jobForm{Image: "acme/migrate", Retries: "0", Errors: map[string]string{}, Params: []row{r}}
		f.apply(j)
		if got := j.Spec.Parameters[0]; !reflect.DeepEqual(got, jobdef.Parameter{Name: r.Name, Secret: r.Secret}) {
			t.Errorf("%+v: parameter %+v", r, got)
		}
	}
}

func TestFieldError(t *testing.T) {
	fe := func(field string) error { return &jobdef.FieldError{Field: field, Err: errors.New("bad " + field)} }
	for _, c := range []struct {
		field, key string // key: the Errors key, or env/params/files and the row index
		row        int
	}{
		{"spec.timeout", "spec.timeout", -1},
		{"spec.resources.requestsMemory", "spec.resources.requestsMemory", -1},
		{"spec.resources.requestsCPU", "spec.resources.requestsCPU", -1},
		{"spec.digest", "spec.digest", -1},
		{"spec.allowTagOverride", "spec.digest", -1},
		{"spec.maxActiveRuns", "spec.maxActiveRuns", -1},
		{"spec.notifications[1].url", "notifs", 1},
		{"spec.notifications[3].url", "spec.notifications", -1},
		{"spec.imagePullSecrets[1]", "spec.imagePullSecrets", -1},
		{"spec.env[1].name", "env", 1},
		{"spec.parameters[0].default", "params", 0},
		{"spec.files[0].path", "files", 0},
		{"spec.env[7].name", "spec.env", -1}, // no such row: the list's error
	} {
		f := &jobForm{Env: []row{{}, {}}, Params: []row{{}}, Files: []fileRow{{}}, Errors: map[string]string{}}
		f.Notifications = []notifRow{{}, {}}
		if !f.fieldError(fe(c.field)) {
			t.Errorf("%s: not placed", c.field)
			continue
		}
		var got string
		switch c.key {
		case "env":
			got = f.Env[c.row].Error
		case "params":
			got = f.Params[c.row].Error
		case "files":
			got = f.Files[c.row].Error
		case "notifs":
			got = f.Notifications[c.row].Error
		default:
			got = f.Errors[c.key]
		}
		if got != "bad "+c.field {
			t.Errorf("%s: %q at %s (errors %v)", c.field, got, c.key, f.Errors)
		}
	}
	f := &jobForm{Errors: map[string]string{}}
	if f.fieldError(errors.New("no field")) || len(f.Errors) != 0 {
		t.Errorf("an error without a field was placed: %v", f.Errors)
	}
}

// TestApplyNewSecretParameter: on a new job a typed secret default is
// saved, and a form shown again does not claim one is stored.
func TestApplyNewSecretParameter(t *testing.T) {
	j := jobdef.New("team", "x")
	f := &jobForm{Image: "acme/x", Retries: "0", Errors: map[string]string{},
		Params: []row{{Name: "TOKEN", Value: "typed", Secret: true}}}
	f.apply(j)
	if got := j.Spec.Parameters; len(got) != 1 || got[0].Default != "typed" || !got[0].Secret {
		t.Fatalf("parameters %+v", got)
	}
	if r := f.Params[0]; r.Value != "" || !r.Secret || r.Stored {
		t.Errorf("row shown again: %+v", r)
	}
}
