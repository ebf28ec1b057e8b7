package postrender

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Keys and values written into manifests.
const (
	// ResourcePolicyAnnotation is Helm's per-resource policy annotation.
	ResourcePolicyAnnotation = "helm.sh/resource-policy"
	// ResourcePolicyKeep makes Helm leave the resource in the cluster when a
	// later upgrade (or uninstall) no longer renders it.
	ResourcePolicyKeep = "keep"
	// TTLAnnotation records the TTL that was written into
	// spec.ttlSecondsAfterFinished, as a Go duration string such as "336h0m0s"
	// (time.Duration.String). ParseTTL accepts that form back.
	TTLAnnotation = "shipjob.dev/ttl"

	ttlField = "ttlSecondsAfterFinished"
)

// ErrNotWholeSeconds: a duration with a fraction of a second (Kubernetes
// counts these in seconds).
var ErrNotWholeSeconds = errors.New("not a whole number of seconds")

// MaxTTL is the largest TTL that fits spec.ttlSecondsAfterFinished (an int32
// number of seconds, about 68 years).
const MaxTTL = time.Duration(math.MaxInt32) * time.Second

// ErrInvalidTTL is wrapped by every error about a TTL value.
var ErrInvalidTTL = errors.New("invalid TTL")

// Options controls what Process changes. The zero value changes nothing.
type Options struct {
	// Keep sets metadata.annotations["helm.sh/resource-policy"] = "keep" on
	// every batch/v1 Job.
	Keep bool
	// TTL, when not nil, sets spec.ttlSecondsAfterFinished (whole seconds) on
	// every batch/v1 Job and records the duration in the TTLAnnotation.
	// Nil leaves TTLs alone. It must be between 0 and MaxTTL and a whole
	// number of seconds.
	TTL *time.Duration
	// Override replaces values that a manifest already sets. Without it an
	// annotation or TTL that is already present (and not null) is kept.
	Override bool
	// CronJobs also applies the TTL to batch/v1 CronJobs, in
	// spec.jobTemplate.spec.ttlSecondsAfterFinished, with the TTLAnnotation on
	// spec.jobTemplate.metadata. CronJobs never get the keep annotation.
	CronJobs bool
	// AllowEmpty lets an input without any YAML content (empty, whitespace,
	// comments, document markers) through unchanged. Without it such input
	// is an error, because Helm would read an empty manifest as "delete every
	// resource of the release".
	AllowEmpty bool
}

func (o Options) validate() error {
	if o.TTL == nil {
		return nil
	}
	if err := checkTTL(*o.TTL); err != nil {
		return fmt.Errorf("%w %s: %w", ErrInvalidTTL, *o.TTL, err)
	}
	return nil
}

// ParseTTL parses a TTL given on the command line. Accepted forms:
//
//   - "none" (any case): no TTL, returns nil and no error;
//   - a whole number of seconds: "3600";
//   - a Go duration: "336h", "90m", "1h30m", "45s";
//   - whole days, optionally followed by a Go duration: "14d", "1d12h".
//
// The result must be a whole number of seconds between 0 and MaxTTL.
// Empty, negative and unparsable values are errors wrapping ErrInvalidTTL.
func ParseTTL(s string) (*time.Duration, error) {
	v := strings.TrimSpace(s)
	if strings.EqualFold(v, "none") {
		return nil, nil
	}
	d, err := ParseDuration(v)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrInvalidTTL, s, err)
	}
	return &d, nil
}

// ParseDuration is the project's one grammar of durations — a TTL here, a
// job's timeout and retentions in kubectl-shipjob: a whole number of seconds
// ("3600"), a Go duration ("90m", "336h"), or whole days optionally
// followed by a Go duration ("14d", "1d12h"); the result is whole seconds
// between 0 and MaxTTL. "none" is the caller's to handle.
func ParseDuration(s string) (time.Duration, error) {
	d, err := parseDuration(strings.TrimSpace(s))
	if err == nil {
		err = checkTTL(d)
	}
	return d, err
}

func parseDuration(v string) (time.Duration, error) {
	if v == "" {
		return 0, errors.New(`empty value (use "none" for no TTL)`)
	}
	if isDigits(v) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n > int64(MaxTTL/time.Second) {
			return 0, errors.New("too large")
		}
		return time.Duration(n) * time.Second, nil
	}
	if i := strings.IndexByte(v, 'd'); i > 0 && isDigits(v[:i]) {
		days, err := strconv.ParseInt(v[:i], 10, 64)
		if err != nil || days > int64(MaxTTL/(24*time.Hour)) {
			return 0, errors.New("too many days")
		}
		d := time.Duration(days) * 24 * time.Hour
		if rest := v[i+1:]; rest != "" {
			r, err := time.ParseDuration(rest)
			if err != nil {
				return 0, errors.New(`want days followed by a duration, as in "1d12h"`)
			}
			if r < 0 || r > MaxTTL {
				return 0, errors.New("part after days out of range")
			}
			d += r
		}
		return d, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, errors.New(`want seconds ("3600"), a duration ("90m", "336h") or days ("14d")`)
	}
	return d, nil
}

func checkTTL(d time.Duration) error {
	switch {
	case d < 0:
		return errors.New("negative")
	case d > MaxTTL:
		return fmt.Errorf("larger than %s (%d seconds)", MaxTTL, int64(MaxTTL/time.Second))
	case d%time.Second != 0:
		return ErrNotWholeSeconds
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
