package jobdef

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // a minimal image computes the same slots as any other
	"unicode/utf8"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Schedule runs the job on time: each slot of Cron, computed in TimeZone,
// is one run through the normal trigger, with Parameters as its values.
type Schedule struct {
	// Name identifies the schedule in the job: runs record
	// "schedule:<name>" as their trigger. A DNS-1123 label.
	Name string `json:"name"`
	// Cron is the standard 5 fields or a descriptor (@hourly, @daily,
	// @every 10s, …), parsed as Kubernetes' CronJob controller parses them.
	Cron string `json:"cron"`
	// TimeZone is an IANA zone name ("Europe/Helsinki"); default UTC.
	TimeZone string `json:"timeZone,omitempty"`
	// Parameters are the values of the schedule's runs; parameters not
	// given take their defaults, required ones must be given.
	Parameters []ScheduleParam `json:"parameters,omitempty"`
	// Suspend stops the schedule's runs; resuming does not run the slots
	// passed while suspended.
	Suspend bool `json:"suspend,omitempty"`
}

// ScheduleParam is a value a schedule gives a parameter: Value in clear,
// or for a secret parameter SecretRef, read when the slot runs.
type ScheduleParam struct {
	Name      string        `json:"name"`
	Value     string        `json:"value,omitempty"`
	SecretRef *SecretKeyRef `json:"secretRef,omitempty"`
}

// SecretKeyRef names a key of a Secret in the job's namespace.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// Schedule bounds and the default starting deadline.
const (
	MaxSchedules            = 20
	MaxScheduleNameLength   = 30
	DefaultStartingDeadline = "1h"
)

// cloneSchedules copies schedules; nothing is shared.
func cloneSchedules(in []Schedule) []Schedule {
	if in == nil {
		return nil
	}
	out := slices.Clone(in)
	for i := range out {
		out[i].Parameters = slices.Clone(in[i].Parameters)
		for j, p := range out[i].Parameters {
			if p.SecretRef != nil {
				ref := *p.SecretRef
				out[i].Parameters[j].SecretRef = &ref
			}
		}
	}
	return out
}

// StartingDeadlineOf is how late a slot may still start (ok=false: no
// limit): StartingDeadline, DefaultStartingDeadline when unset.
func (s *Spec) StartingDeadlineOf() (d time.Duration, ok bool, err error) {
	if s.StartingDeadline == "" {
		return ParseDuration("startingDeadline", DefaultStartingDeadline)
	}
	return ParseDuration("startingDeadline", s.StartingDeadline)
}

// ScheduleNamed returns the schedule called name, or nil.
func (s *Spec) ScheduleNamed(name string) *Schedule {
	for i := range s.Schedules {
		if s.Schedules[i].Name == name {
			return &s.Schedules[i]
		}
	}
	return nil
}

// Location is the schedule's time zone (UTC when unset or unknown).
func (sc Schedule) Location() *time.Location {
	if sc.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(sc.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// ParseCron parses a schedule's expression as the CronJob controller does
// (cron.ParseStandard). A time zone inside it (TZ=, CRON_TZ=) is refused:
// the zone is the schedule's own field.
func ParseCron(expr string) (cron.Schedule, error) {
	e := strings.TrimSpace(expr)
	if e == "" {
		return nil, errors.New("a cron expression is required")
	}
	if strings.HasPrefix(e, "TZ=") || strings.HasPrefix(e, "CRON_TZ=") {
		return nil, fmt.Errorf("invalid cron expression %q: give the zone as the time zone, not in the expression", expr)
	}
	sched, err := cron.ParseStandard(e)
	if err != nil {
		return nil, fmt.Errorf("invalid cron expression %q: %w", expr, err)
	}
	// The parser rounds @every to whole seconds, at least 1s: say so
	// rather than run at another interval than written.
	if d, ok := strings.CutPrefix(e, "@every "); ok {
		if every, err := time.ParseDuration(strings.TrimSpace(d)); err != nil || every < time.Second || every%time.Second != 0 {
			return nil, fmt.Errorf("invalid cron expression %q: @every must be whole seconds, at least 1s", expr)
		}
	}
	return sched, nil
}

func (s *Spec) validateSchedules() error {
	if s.StartingDeadline != "" {
		if _, _, err := ParseDuration("startingDeadline", s.StartingDeadline); err != nil {
			return fieldErr("spec.startingDeadline", err)
		}
	}
	if len(s.Schedules) > MaxSchedules {
		return fieldErr("spec.schedules", fmt.Errorf("too many schedules: %d, at most %d", len(s.Schedules), MaxSchedules))
	}
	seen := map[string]bool{}
	for i, sc := range s.Schedules {
		field := fmt.Sprintf("spec.schedules[%d]", i)
		if err := ValidateScheduleName(sc.Name); err != nil {
			return fieldErr(field+".name", err)
		}
		if seen[sc.Name] {
			return fieldErr(field+".name", fmt.Errorf("schedule %q is given twice", sc.Name))
		}
		seen[sc.Name] = true
		if f, err := s.validateSchedule(sc); err != nil {
			return fieldErr(field+f, fmt.Errorf("schedule %q: %w", sc.Name, err))
		}
	}
	return nil
}

// ValidateScheduleName checks a schedule's name: a DNS-1123 label of at
// most MaxScheduleNameLength characters (it is part of the idempotency key
// of its runs).
func ValidateScheduleName(name string) error {
	if name == "" {
		return errors.New("a schedule name is required")
	}
	if len(name) > MaxScheduleNameLength {
		return fmt.Errorf("invalid schedule name %q: must be at most %d characters", name, MaxScheduleNameLength)
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("invalid schedule name %q: %s", name, errs[0])
	}
	return nil
}

// validateSchedule returns the problem of sc and the field (relative to
// the schedule) it is in.
func (s *Spec) validateSchedule(sc Schedule) (string, error) {
	if _, err := ParseCron(sc.Cron); err != nil {
		return ".cron", err
	}
	if sc.TimeZone != "" {
		if sc.TimeZone == "Local" {
			return ".timeZone", errors.New(`time zone "Local" is the server's: give an IANA name like Europe/Helsinki`)
		}
		if _, err := time.LoadLocation(sc.TimeZone); err != nil {
			return ".timeZone", fmt.Errorf("unknown time zone %q: give an IANA name like Europe/Helsinki or UTC", sc.TimeZone)
		}
	}
	return s.validateScheduleParams(sc)
}

// validateScheduleParams checks what a run of sc would be refused for:
// unknown parameters, values of the wrong type, required ones missing. A
// secret parameter's value is a reference (never in clear in the
// definition); its content is checked when the slot runs.
func (s *Spec) validateScheduleParams(sc Schedule) (string, error) {
	known := map[string]Parameter{}
	for _, p := range s.Parameters {
		known[p.Name] = p
	}
	given := map[string]bool{}
	for i, sp := range sc.Parameters {
		field := fmt.Sprintf(".parameters[%d]", i)
		p, ok := known[sp.Name]
		switch {
		case !ok:
			return field + ".name", fmt.Errorf("unknown parameter %q", sp.Name)
		case given[sp.Name]:
			return field + ".name", fmt.Errorf("parameter %q is given twice", sp.Name)
		case p.Secret && sp.SecretRef == nil:
			return field, fmt.Errorf("parameter %q is secret: give it as a reference to a Secret key, not a value", sp.Name)
		case !p.Secret && sp.SecretRef != nil:
			return field + ".secretRef", fmt.Errorf("parameter %q is not secret: give its value", sp.Name)
		}
		given[sp.Name] = true
		if sp.SecretRef != nil {
			if sp.Value != "" {
				return field, fmt.Errorf("parameter %q has both a value and a secretRef", sp.Name)
			}
			if err := validSecretName("secret", sp.SecretRef.Name); err != nil {
				return field + ".secretRef.name", err
			}
			if errs := validation.IsConfigMapKey(sp.SecretRef.Key); len(errs) > 0 {
				return field + ".secretRef.key", fmt.Errorf("invalid secret key %q: %s", sp.SecretRef.Key, errs[0])
			}
			continue
		}
		if !utf8.ValidString(sp.Value) || strings.ContainsRune(sp.Value, 0) {
			return field + ".value", fmt.Errorf("invalid value for parameter %q: it must be UTF-8 text without NUL characters", sp.Name)
		}
		if p.Required && sp.Value == "" {
			return field + ".value", fmt.Errorf("required parameter %q needs a value, not an empty one", sp.Name)
		}
		if err := p.Check(sp.Value); err != nil {
			return field + ".value", err
		}
	}
	for _, p := range s.Parameters {
		if p.Required && !given[p.Name] {
			return ".parameters", fmt.Errorf("missing required parameter %q", p.Name)
		}
	}
	return "", nil
}
