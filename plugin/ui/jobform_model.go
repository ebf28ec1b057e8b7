package ui

import (
	"encoding/base64"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// Shipmight's presets; any other quantity is a custom value.
var (
	memoryPresets = []string{"128Mi", "256Mi", "512Mi", "1024Mi", "2048Mi"}
	cpuPresets    = []string{"100m", "250m", "500m", "1000m", "2000m", "4000m"}
)

// blankRows is how many empty env, parameter and upload rows a form offers.
const blankRows = 2

// jobForm is the Create job and Configuration form, as shown and as
// submitted. It carries uploaded files (base64) so that a form shown again
// with an error loses nothing.
type jobForm struct {
	Create          bool
	Action          string
	ResourceVersion string
	Name            string
	Description     string
	Registry        string
	Registries      []jobdef.Registry
	Image, Tag      string
	Memory, CPU     string
	MemoryPresets   []string
	CPUPresets      []string
	Env             []row
	Params          []row
	Files           []fileRow
	Uploads         []row // empty upload slots: Name is the slot number
	Timeout         string
	Retention       string
	Retries         string
	ServiceAccount  string
	PullSecrets     string
	// StartingDeadline and Schedules: when the job runs on its own.
	StartingDeadline string
	Schedules        []schedRow
	Zones            []string
	// paramDefs are the job's parameters, which type the schedules'
	// parameter inputs.
	paramDefs []jobdef.Parameter
	specFields
	// SigningSecret is the notifications' signing secret, just made: shown
	// once, never read from a form.
	SigningSecret string
	// Errors are the validation errors of fields ("spec.timeout").
	Errors map[string]string
}

// row is a name/value row (env: Value; parameters: Value is the default).
type row struct {
	Name, Value string
	Required    bool
	Error       string
	// A secret parameter's default is never sent to the browser: its
	// field is an empty password input (Secret), Stored says there is a
	// default, which an empty field keeps and Clear (a checkbox) removes.
	Secret, Stored, Clear bool
	// A parameter's type ("": string), allowed values ("a, b"), pattern
	// and description.
	Type, Enum, Pattern, Description string
}

type fileRow struct {
	Path    string
	Content string // base64
	Size    int
	Error   string
}

// formOf shows j in the form.
func formOf(j *jobdef.Job) *jobForm {
	f := &jobForm{Name: j.Name, ResourceVersion: j.ResourceVersion, Description: j.Spec.Description,
		Registry: j.Spec.Registry, Image: j.Spec.Image, Tag: j.Spec.Tag, Memory: j.Spec.Resources.Memory,
		CPU: j.Spec.Resources.CPU, Timeout: j.Spec.Timeout, Retention: j.Spec.Retention,
		Retries: strconv.Itoa(int(j.Spec.Retries)), ServiceAccount: j.Spec.ServiceAccountName,
		PullSecrets: strings.Join(j.Spec.ImagePullSecrets, ", "), StartingDeadline: j.Spec.StartingDeadline,
		Schedules: scheduleRows(&j.Spec), paramDefs: j.Spec.Parameters, specFields: specFieldsOf(j)}
	for _, e := range j.Spec.Env {
		f.Env = append(f.Env, row{Name: e.Name, Value: e.Value})
	}
	for _, p := range j.Spec.Parameters {
		r := row{Name: p.Name, Value: p.Default, Required: p.Required, Type: p.Type,
			Enum: strings.Join(p.Enum, ", "), Pattern: p.Pattern, Description: p.Description}
		if p.Secret {
			r.Value, r.Secret, r.Stored = "", true, p.Default != ""
		}
		f.Params = append(f.Params, r)
	}
	for _, file := range j.Spec.Files {
		b := file.Bytes()
		f.Files = append(f.Files, fileRow{Path: file.Path, Content: base64.StdEncoding.EncodeToString(b), Size: len(b)})
	}
	return f
}

// finish adds what only showing the form needs: presets, blank rows.
func (f *jobForm) finish(regs []jobdef.Registry) {
	f.Registries, f.MemoryPresets, f.CPUPresets = regs, memoryPresets, cpuPresets
	for range blankRows {
		f.Env = append(f.Env, row{})
		f.Params = append(f.Params, row{})
	}
	f.Uploads, f.Zones = nil, commonZones
	f.finishSpec()
	blank := schedRow{}
	describeRow(&blank, f.paramDefs)
	f.Schedules = append(f.Schedules, blank)
	for i := range blankRows {
		f.Uploads = append(f.Uploads, row{Name: strconv.Itoa(i)})
	}
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
}

// parseForm reads a submitted form; field errors it finds itself (a
// retries count that is no number, an unreadable upload) go to f.Errors.
func parseForm(r *http.Request) *jobForm {
	v := r.PostFormValue
	f := &jobForm{Name: strings.TrimSpace(v("name")), ResourceVersion: v("resourceVersion"),
		Description: strings.TrimSpace(v("description")), Registry: v("registry"),
		Image: strings.TrimSpace(v("image")), Tag: strings.TrimSpace(v("tag")),
		Memory: choice(v("memory"), v("memory.custom")), CPU: choice(v("cpu"), v("cpu.custom")),
		Timeout: strings.TrimSpace(v("timeout")), Retention: strings.TrimSpace(v("retention")),
		Retries: strings.TrimSpace(v("retries")), ServiceAccount: strings.TrimSpace(v("serviceAccount")),
		PullSecrets: strings.TrimSpace(v("pullSecrets")), StartingDeadline: strings.TrimSpace(v("startingDeadline")),
		Schedules: parseSchedules(r), specFields: parseSpecFields(r), Errors: map[string]string{}}
	for i := 0; r.PostForm.Has(fmt.Sprintf("env.%d.name", i)); i++ {
		n, val := strings.TrimSpace(v(fmt.Sprintf("env.%d.name", i))), v(fmt.Sprintf("env.%d.value", i))
		if n != "" || val != "" {
			f.Env = append(f.Env, row{Name: n, Value: val})
		}
	}
	for i := 0; r.PostForm.Has(fmt.Sprintf("param.%d.name", i)); i++ {
		pv := func(k string) string { return v(fmt.Sprintf("param.%d.%s", i, k)) }
		p := row{Name: strings.TrimSpace(pv("name")), Value: pv("default"), Required: pv("required") != "",
			Clear: pv("clear") != "", Secret: pv("secret") != "", Type: strings.TrimSpace(pv("type")),
			Enum: strings.TrimSpace(pv("enum")), Pattern: pv("pattern"), Description: strings.TrimSpace(pv("description"))}
		if p.Name != "" || p.Value != "" || p.Required || p.Secret || p.Type != "" || p.Enum != "" ||
			p.Pattern != "" || p.Description != "" {
			f.Params = append(f.Params, p)
		}
	}
	for i := 0; r.PostForm.Has(fmt.Sprintf("file.%d.path", i)); i++ {
		if v(fmt.Sprintf("file.%d.remove", i)) != "" {
			continue
		}
		b, _ := base64.StdEncoding.DecodeString(v(fmt.Sprintf("file.%d.content", i)))
		f.Files = append(f.Files, fileRow{Path: strings.TrimSpace(v(fmt.Sprintf("file.%d.path", i))),
			Content: base64.StdEncoding.EncodeToString(b), Size: len(b)})
	}
	for i := range blankRows {
		path := strings.TrimSpace(v(fmt.Sprintf("upload.%d.path", i)))
		b, name, err := upload(r, fmt.Sprintf("upload.%d.content", i))
		if err != nil {
			f.Errors["upload"] = err.Error()
			continue
		}
		if name == "" && path == "" {
			continue
		}
		if path == "" {
			f.Errors["upload"] = fmt.Sprintf("give the path in the container where %s is mounted", name)
			continue
		}
		f.Files = append(f.Files, fileRow{Path: path, Content: base64.StdEncoding.EncodeToString(b), Size: len(b)})
	}
	return f
}

func choice(preset, custom string) string {
	if preset == "custom" || preset == "" {
		return strings.TrimSpace(custom)
	}
	return preset
}

// upload reads an uploaded file ("" name: none was chosen).
func upload(r *http.Request, key string) ([]byte, string, error) {
	if r.MultipartForm == nil || len(r.MultipartForm.File[key]) == 0 {
		return nil, "", nil
	}
	fh := r.MultipartForm.File[key][0]
	if fh.Filename == "" && fh.Size == 0 {
		return nil, "", nil
	}
	b, err := readUpload(fh)
	if err != nil {
		return nil, fh.Filename, fmt.Errorf("read upload %s: %w", fh.Filename, err)
	}
	return b, fh.Filename, nil
}

func readUpload(fh *multipart.FileHeader) ([]byte, error) {
	file, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return io.ReadAll(io.LimitReader(file, maxBody))
}

// apply writes the form into j (a new job, or a copy of the stored one:
// what the form does not show, like command and labels, stays).
func (f *jobForm) apply(j *jobdef.Job) {
	j.Spec.Description, j.Spec.Registry, j.Spec.Image, j.Spec.Tag = f.Description, f.Registry, f.Image, f.Tag
	j.Spec.Digest, j.Spec.AllowTagOverride = f.Digest, f.AllowTagOverride
	// A full reference ("ghcr.io/acme/migrate:1.4") fills the tag too,
	// unless another tag was given.
	if f.Tag == "" || f.Tag == jobdef.DefaultTag {
		if repo, tag, digest, err := jobdef.SplitImage(f.Image); err == nil && (tag != "" || digest != "") {
			j.Spec.Image, j.Spec.Tag, j.Spec.Digest = repo, tag, digest
		}
	}
	if j.Spec.Tag == "" && j.Spec.Digest == "" {
		j.Spec.Tag = jobdef.DefaultTag
	}
	j.Spec.Resources.Memory, j.Spec.Resources.CPU = f.Memory, f.CPU
	j.Spec.Timeout, j.Spec.Retention, j.Spec.ServiceAccountName = f.Timeout, f.Retention, f.ServiceAccount
	if n, err := strconv.ParseInt(f.Retries, 10, 32); err == nil {
		j.Spec.Retries = int32(n)
	} else {
		f.Errors["spec.retries"] = fmt.Sprintf("invalid retries %q: want a number from 0 to 100", f.Retries)
	}
	j.Spec.ImagePullSecrets = nil
	for _, s := range strings.Split(f.PullSecrets, ",") {
		if s = strings.TrimSpace(s); s != "" {
			j.Spec.ImagePullSecrets = append(j.Spec.ImagePullSecrets, s)
		}
	}
	// A secret default the form never showed is kept (while the parameter
	// stays secret) unless replaced or cleared, and is not shown again
	// when the form comes back.
	kept := map[string]jobdef.Parameter{}
	for _, p := range j.Spec.Parameters {
		kept[p.Name] = p
	}
	j.Spec.Env, j.Spec.Parameters, j.Spec.Files = nil, nil, nil
	for _, e := range f.Env {
		j.Spec.Env = append(j.Spec.Env, jobdef.EnvVar{Name: e.Name, Value: e.Value})
	}
	for i, p := range f.Params {
		prm := jobdef.Parameter{Name: p.Name, Default: p.Value, Required: p.Required, Type: p.Type,
			Enum: splitList(p.Enum), Pattern: p.Pattern, Description: p.Description, Secret: p.Secret}
		old := kept[p.Name]
		if old.Secret && prm.Secret && p.Value == "" && !p.Clear {
			prm.Default = old.Default
		}
		if prm.Secret {
			// Shown again (an error elsewhere), the field says "unchanged"
			// only when a default is stored: a typed one is not echoed, and
			// on a new job nothing is stored yet.
			stored := old.Secret && old.Default != "" && prm.Default != ""
			f.Params[i].Value, f.Params[i].Secret, f.Params[i].Stored = "", true, stored
			f.Params[i].Clear = false
		}
		j.Spec.Parameters = append(j.Spec.Parameters, prm)
	}
	for _, fr := range f.Files {
		b, _ := base64.StdEncoding.DecodeString(fr.Content)
		file := jobdef.File{Path: fr.Path}
		if utf8.Valid(b) {
			file.Content = string(b)
		} else {
			file.BinaryContent = b
		}
		j.Spec.Files = append(j.Spec.Files, file)
	}
	f.applySchedules(j)
	f.applySpecFields(j, f.Errors)
}

var indexed = regexp.MustCompile(`^spec\.(env|parameters|files|notifications)\[(\d+)\]`)

// fieldError puts err next to the field it names; it reports false when
// it names none (the caller shows it at the top).
func (f *jobForm) fieldError(err error) bool {
	field := jobdef.FieldOf(err)
	if field == "" {
		return false
	}
	msg := err.Error()
	if f.scheduleError(field, msg) {
		return true
	}
	if m := indexed.FindStringSubmatch(field); m != nil {
		i, _ := strconv.Atoi(m[2])
		switch {
		case m[1] == "env" && i < len(f.Env):
			f.Env[i].Error = msg
			return true
		case m[1] == "parameters" && i < len(f.Params):
			f.Params[i].Error = msg
			return true
		case m[1] == "files" && i < len(f.Files):
			f.Files[i].Error = msg
			return true
		case m[1] == "notifications" && i < len(f.Notifications):
			f.Notifications[i].Error = msg
			return true
		}
		field = "spec." + m[1]
	}
	if i := strings.IndexByte(field, '['); i > 0 {
		field = field[:i]
	}
	switch field {
	case "spec.allowTagOverride":
		field = "spec.digest"
	}
	f.Errors[field] = msg
	return true
}
