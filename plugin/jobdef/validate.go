package jobdef

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/shipjob/kubectl-shipjob/plugin/notify"
	"github.com/shipjob/kubectl-shipjob/postrender"
)

// ReservedLabelPrefix is ours: users may not set labels under it.
const ReservedLabelPrefix = Group + "/"

// ValidateName checks a job name: a DNS-1123 label short enough to leave
// room for run suffixes.
func ValidateName(name string) error {
	if name == "" {
		return errors.New("a job name is required")
	}
	if len(name) > MaxNameLength {
		return fmt.Errorf("invalid job name %q: must be at most %d characters (runs add a suffix), got %d", name, MaxNameLength, len(name))
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("invalid job name %q: %s", name, errs[0])
	}
	return nil
}

// ValidateEnvName checks an environment variable or parameter name.
func ValidateEnvName(kind, name string) error {
	if errs := validation.IsCIdentifier(name); len(errs) > 0 {
		return fmt.Errorf("invalid %s name %q: must start with a letter or '_' and contain only letters, digits and '_'", kind, name)
	}
	return nil
}

// ParseDuration parses a timeout or retention in the grammar of the
// post-renderer's --ttl (postrender.ParseDuration: "90s", "15m", "3600",
// "14d", "1d12h"), or "none" (ok=false). It must be positive.
func ParseDuration(what, s string) (d time.Duration, ok bool, err error) {
	s = strings.TrimSpace(s)
	if s == None {
		return 0, false, nil
	}
	d, err = postrender.ParseDuration(s)
	switch {
	case errors.Is(err, postrender.ErrNotWholeSeconds):
		return 0, false, fmt.Errorf("invalid %s %q: must be whole seconds", what, s)
	case err != nil && d > postrender.MaxTTL:
		return 0, false, fmt.Errorf("invalid %s %q: %w", what, s, err)
	case err != nil || d <= 0:
		return 0, false, fmt.Errorf("invalid %s %q: use a duration like 90s, 15m, 2h, 14d, or %q", what, s, None)
	}
	return d, true, nil
}

var (
	tagPattern    = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
	digestPattern = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
)

// ValidateTag checks an image tag.
func ValidateTag(tag string) error {
	if !tagPattern.MatchString(tag) {
		return fmt.Errorf("invalid image tag %q: use letters, digits, '_', '.', '-' (at most 128, not starting with '.' or '-')", tag)
	}
	return nil
}

// SplitImage splits a full image reference into repository, tag and digest:
// "ghcr.io/acme/migrate:1.4" → ("ghcr.io/acme/migrate", "1.4", "").
func SplitImage(ref string) (repo, tag, digest string, err error) {
	parsed, err := reference.Parse(ref)
	if err != nil {
		return "", "", "", fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	named, ok := parsed.(reference.Named)
	if !ok {
		return "", "", "", fmt.Errorf("invalid image reference %q: no repository name", ref)
	}
	repo = named.Name()
	if t, ok := parsed.(reference.Tagged); ok {
		tag = t.Tag()
	}
	if d, ok := parsed.(reference.Digested); ok {
		digest = d.Digest().String()
	}
	return repo, tag, digest, nil
}

// Validate checks the whole definition and returns the first problem as one
// line, a *FieldError naming the field. Registries are resolved separately
// (they live in the cluster).
func (j *Job) Validate() error {
	if err := ValidateName(j.Name); err != nil {
		return fieldErr("metadata.name", err)
	}
	for k := range j.Labels {
		if strings.HasPrefix(k, ReservedLabelPrefix) {
			return fieldErr("metadata.labels", fmt.Errorf("invalid label %q: the %s prefix is reserved", k, ReservedLabelPrefix))
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fieldErr("metadata.labels", fmt.Errorf("invalid label key %q: %s", k, errs[0]))
		}
		if errs := validation.IsValidLabelValue(j.Labels[k]); len(errs) > 0 {
			return fieldErr("metadata.labels", fmt.Errorf("invalid label value %q: %s", j.Labels[k], errs[0]))
		}
	}
	return j.Spec.validate()
}

func (s *Spec) validate() error {
	if err := s.validateImage(); err != nil {
		return err
	}
	for i, n := range s.ImagePullSecrets {
		if err := validSecretName("image pull secret", n); err != nil {
			return fieldErr(fmt.Sprintf("spec.imagePullSecrets[%d]", i), err)
		}
	}
	for i, n := range s.EnvFromSecrets {
		if err := validSecretName("env secret", n); err != nil {
			return fieldErr(fmt.Sprintf("spec.envFromSecrets[%d]", i), err)
		}
	}
	if s.ServiceAccountName != "" {
		if errs := validation.IsDNS1123Subdomain(s.ServiceAccountName); len(errs) > 0 {
			return fieldErr("spec.serviceAccountName", fmt.Errorf("invalid service account %q: %s", s.ServiceAccountName, errs[0]))
		}
	}
	for _, check := range []func() error{s.validateEnv, s.validateFiles, s.Resources.validate} {
		if err := check(); err != nil {
			return err
		}
	}
	if _, _, err := ParseDuration("timeout", s.Timeout); err != nil {
		return fieldErr("spec.timeout", err)
	}
	if _, _, err := ParseDuration("retention", s.Retention); err != nil {
		return fieldErr("spec.retention", err)
	}
	if s.RetentionFailed != "" {
		if _, _, err := ParseDuration("retentionFailed", s.RetentionFailed); err != nil {
			return fieldErr("spec.retentionFailed", err)
		}
	}
	if err := s.validateNotifications(); err != nil {
		return err
	}
	if s.Retries < 0 || s.Retries > 100 {
		return fieldErr("spec.retries", fmt.Errorf("invalid retries %d: must be between 0 and 100", s.Retries))
	}
	if s.Tasks < 0 || s.Tasks > MaxTasks {
		return fieldErr("spec.tasks", fmt.Errorf("invalid tasks %d: must be between 1 and %d", s.Tasks, MaxTasks))
	}
	if s.Parallelism < 0 || s.Parallelism > max(s.Tasks, 1) {
		return fieldErr("spec.parallelism", fmt.Errorf("invalid parallelism %d: must be between 1 and the number of tasks (%d), or 0 for all", s.Parallelism, max(s.Tasks, 1)))
	}
	switch s.ConcurrencyPolicy {
	case "", AllowConcurrent, ForbidConcurrent, ReplaceConcurrent:
	default:
		return fieldErr("spec.concurrencyPolicy", fmt.Errorf("invalid concurrency policy %q: use Allow, Forbid or Replace", s.ConcurrencyPolicy))
	}
	if m := s.MaxActiveRuns; m != nil && (*m < 0 || *m > 10000) {
		return fieldErr("spec.maxActiveRuns", fmt.Errorf("invalid maxActiveRuns %d: must be between 0 (no limit) and 10000", *m))
	}
	if err := s.validateVolume(); err != nil {
		return err
	}
	if err := s.validateSchedules(); err != nil {
		return err
	}
	return s.validateSizes(nil)
}

func (s *Spec) validateImage() error {
	if s.Image == "" {
		return fieldErr("spec.image", errors.New("an image is required"))
	}
	parsed, err := reference.Parse(s.Image)
	if err != nil {
		return fieldErr("spec.image", fmt.Errorf("invalid image reference %q: %w", s.Image, err))
	}
	_, tagged := parsed.(reference.Tagged)
	_, digested := parsed.(reference.Digested)
	if _, named := parsed.(reference.Named); !named || tagged || digested {
		return fieldErr("spec.image", fmt.Errorf("invalid image %q: give the repository only; the tag and digest are separate fields", s.Image))
	}
	if s.Tag != "" {
		if err := ValidateTag(s.Tag); err != nil {
			return fieldErr("spec.tag", err)
		}
	}
	if s.Digest != "" && !digestPattern.MatchString(s.Digest) {
		return fieldErr("spec.digest", fmt.Errorf("invalid image digest %q: want sha256:<64 hex digits>", s.Digest))
	}
	if s.Tag == "" && s.Digest == "" {
		return fieldErr("spec.tag", errors.New("an image tag or digest is required"))
	}
	if s.AllowTagOverride && s.Digest == "" {
		return fieldErr("spec.allowTagOverride", errors.New("allowTagOverride is only for a job pinned to a digest"))
	}
	if s.Registry != "" {
		if errs := validation.IsDNS1123Label(s.Registry); len(errs) > 0 {
			return fieldErr("spec.registry", fmt.Errorf("invalid registry name %q: %s", s.Registry, errs[0]))
		}
	}
	return nil
}

func validSecretName(what, name string) error {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("invalid %s %q: %s", what, name, errs[0])
	}
	return nil
}

func (s *Spec) validateEnv() error {
	// The names each task is given.
	seen := map[string]string{EnvTaskIndex: "reserved", EnvTaskCount: "reserved"}
	for i, e := range s.Env {
		field := fmt.Sprintf("spec.env[%d]", i)
		if err := ValidateEnvName("env", e.Name); err != nil {
			return fieldErr(field+".name", err)
		}
		if seen[e.Name] == "reserved" {
			return fieldErr(field+".name", fmt.Errorf("env %q is reserved: kubectl-shipjob sets it for each task", e.Name))
		}
		if _, dup := seen[e.Name]; dup {
			return fieldErr(field+".name", fmt.Errorf("env %q is given twice", e.Name))
		}
		seen[e.Name] = "env"
	}
	for i, p := range s.Parameters {
		field := fmt.Sprintf("spec.parameters[%d]", i)
		if err := ValidateEnvName("parameter", p.Name); err != nil {
			return fieldErr(field+".name", err)
		}
		switch seen[p.Name] {
		case "reserved":
			return fieldErr(field+".name", fmt.Errorf("parameter %q is reserved: kubectl-shipjob sets it for each task", p.Name))
		case "env":
			return fieldErr(field+".name", fmt.Errorf("%q is both a static env and a parameter: choose one", p.Name))
		case "parameter":
			return fieldErr(field+".name", fmt.Errorf("parameter %q is given twice", p.Name))
		}
		if p.Required && p.Default != "" {
			return fieldErr(field+".default", fmt.Errorf("parameter %q is required and cannot have a default", p.Name))
		}
		if err := p.validateTyped(field); err != nil {
			return err
		}
		seen[p.Name] = "parameter"
	}
	return nil
}

func (s *Spec) validateFiles() error {
	seen := map[string]bool{}
	for i, f := range s.Files {
		field := fmt.Sprintf("spec.files[%d]", i)
		if !path.IsAbs(f.Path) {
			return fieldErr(field+".path", fmt.Errorf("invalid file path %q: must be absolute", f.Path))
		}
		if path.Clean(f.Path) != f.Path || f.Path == "/" || strings.HasSuffix(f.Path, "/") {
			return fieldErr(field+".path", fmt.Errorf("invalid file path %q: must be a clean path to a file (no '..', '//' or trailing '/')", f.Path))
		}
		if seen[f.Path] {
			return fieldErr(field+".path", fmt.Errorf("file path %q is mounted twice", f.Path))
		}
		if f.Content != "" && f.BinaryContent != nil {
			return fieldErr(field, fmt.Errorf("file %q has both content and binaryContent", f.Path))
		}
		seen[f.Path] = true
	}
	// A file cannot also be a directory holding another mounted file.
	for i, f := range s.Files {
		for dir := path.Dir(f.Path); dir != "/"; dir = path.Dir(dir) {
			if seen[dir] {
				return fieldErr(fmt.Sprintf("spec.files[%d].path", i), fmt.Errorf("file path %q is inside %q, which is mounted as a file", f.Path, dir))
			}
		}
	}
	return nil
}

func (r Resources) validate() error {
	for _, q := range []struct{ name, limit, request, requestField string }{
		{"memory", r.Memory, r.RequestsMemory, "spec.resources.requestsMemory"},
		{"cpu", r.CPU, r.RequestsCPU, "spec.resources.requestsCPU"},
	} {
		limit, err := parsePositive(q.name, q.limit)
		if err != nil {
			return fieldErr("spec.resources."+q.name, err)
		}
		if q.request == "" {
			continue
		}
		req, err := parsePositive(q.name+" request", q.request)
		if err != nil {
			return fieldErr(q.requestField, err)
		}
		if req.Cmp(limit) > 0 {
			return fieldErr(q.requestField, fmt.Errorf("%s request %s is more than its limit %s", q.name, q.request, q.limit))
		}
	}
	return nil
}

func parsePositive(what, s string) (resource.Quantity, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return q, fmt.Errorf("invalid %s %q: not a quantity (e.g. 128Mi, 1Gi for memory; 100m, 2 for cpu)", what, s)
	}
	if q.Sign() <= 0 {
		return q, fmt.Errorf("invalid %s %q: must be more than 0", what, s)
	}
	return q, nil
}

func (s *Spec) validateNotifications() error {
	if len(s.Notifications) > MaxNotifications {
		return fieldErr("spec.notifications", fmt.Errorf("too many notifications: %d, at most %d", len(s.Notifications), MaxNotifications))
	}
	seen := map[string]bool{}
	for i, n := range s.Notifications {
		field := fmt.Sprintf("spec.notifications[%d]", i)
		if len(n.URL) > MaxNotificationURL {
			return fieldErr(field+".url", fmt.Errorf("invalid webhook URL: longer than %d characters", MaxNotificationURL))
		}
		if err := notify.CheckURL(n.URL); err != nil {
			return fieldErr(field+".url", err)
		}
		if seen[n.URL] {
			return fieldErr(field+".url", errors.New("this webhook URL is listed twice"))
		}
		seen[n.URL] = true
		on := map[Outcome]bool{}
		for j, o := range n.On {
			if !slices.Contains(Outcomes, o) || on[o] {
				return fieldErr(fmt.Sprintf("%s.on[%d]", field, j), fmt.Errorf("invalid outcome %q: use succeeded, failed or cancelled, each once", o))
			}
			on[o] = true
		}
		switch n.Format {
		case "", FormatJSON, FormatSlack:
		default:
			return fieldErr(field+".format", fmt.Errorf("invalid notification format %q: use json or slack", n.Format))
		}
	}
	return nil
}
