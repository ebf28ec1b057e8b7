package jobdef

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Parameter types. A value is always passed as text (an environment
// variable); the type says which texts are allowed.
const (
	ParamString  = "string"
	ParamInteger = "integer"
	ParamNumber  = "number"
	ParamBoolean = "boolean"
)

// SecretValue stands for a secret parameter's value wherever a run's
// parameters are shown or recorded (annotations, runs -o json, logs).
const SecretValue = "<secret>"

// What every task of a run is told, and the bound on tasks.
const (
	EnvTaskIndex = "SHIPJOB_TASK_INDEX"
	EnvTaskCount = "SHIPJOB_TASK_COUNT"
	MaxTasks     = 10000
)

// maxEnum and maxPatternLength bound what a definition may ask of a value.
const (
	maxEnum          = 100
	maxPatternLength = 1024
)

// TypeName is the parameter's type, string when unset.
func (p Parameter) TypeName() string {
	if p.Type == "" {
		return ParamString
	}
	return p.Type
}

// Shown is how the value v of p is shown and recorded: SecretValue for a
// secret parameter.
func (p Parameter) Shown(v string) string {
	if p.Secret {
		return SecretValue
	}
	return v
}

// Check reports whether v is allowed for p: its type, its enum and its
// pattern (which must match the whole value). The error is one line naming
// the parameter, the value (not for secret parameters) and what is allowed.
func (p Parameter) Check(v string) error {
	what := func(why string) error {
		if p.Secret {
			return fmt.Errorf("invalid value for secret parameter %q: %s", p.Name, why)
		}
		return fmt.Errorf("invalid value %q for parameter %q: %s", v, p.Name, why)
	}
	switch p.TypeName() {
	case ParamInteger:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return what("want an integer, e.g. 42 or -7")
		}
	case ParamNumber:
		if _, err := strconv.ParseFloat(v, 64); err != nil || strings.ContainsAny(v, "xXpP_") ||
			strings.Contains(strings.ToLower(v), "inf") || strings.EqualFold(v, "nan") {
			return what("want a number, e.g. 3.14")
		}
	case ParamBoolean:
		if v != "true" && v != "false" {
			return what("want true or false")
		}
	}
	if len(p.Enum) > 0 && !slices.Contains(p.Enum, v) {
		return what("allowed: " + strings.Join(p.Enum, ", "))
	}
	if p.Pattern != "" {
		re, err := compilePattern(p.Pattern)
		if err != nil {
			return err
		}
		if !re.MatchString(v) {
			return what("must match " + p.Pattern)
		}
	}
	return nil
}

// compilePattern compiles a parameter's pattern so that it matches the
// whole value (Go's RE2 syntax: no backtracking, linear time).
func compilePattern(pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		return nil, fmt.Errorf("invalid pattern %q: %w", pattern, errors.Unwrap(err))
	}
	return re, nil
}

// validateTyped checks the typed fields of parameter p (at field) and that
// its default satisfies them.
func (p Parameter) validateTyped(field string) error {
	switch p.TypeName() {
	case ParamString, ParamInteger, ParamNumber, ParamBoolean:
	default:
		return fieldErr(field+".type", fmt.Errorf("invalid type %q for parameter %q: use string, integer, number or boolean", p.Type, p.Name))
	}
	if len(p.Enum) > maxEnum {
		return fieldErr(field+".enum", fmt.Errorf("parameter %q has %d allowed values, at most %d", p.Name, len(p.Enum), maxEnum))
	}
	seen := map[string]bool{}
	for _, e := range p.Enum {
		if seen[e] {
			return fieldErr(field+".enum", fmt.Errorf("parameter %q allows %q twice", p.Name, e))
		}
		seen[e] = true
		typed := p
		typed.Enum, typed.Pattern, typed.Secret = nil, "", false
		if err := typed.Check(e); err != nil {
			return fieldErr(field+".enum", fmt.Errorf("allowed value of parameter %q is not of its type: %w", p.Name, err))
		}
	}
	if len(p.Pattern) > maxPatternLength {
		return fieldErr(field+".pattern", fmt.Errorf("pattern of parameter %q is %d characters, at most %d", p.Name, len(p.Pattern), maxPatternLength))
	}
	if p.Pattern != "" {
		if _, err := compilePattern(p.Pattern); err != nil {
			return fieldErr(field+".pattern", err)
		}
	}
	if strings.ContainsAny(p.Description, "\x00\r") {
		return fieldErr(field+".description", fmt.Errorf("description of parameter %q has control characters", p.Name))
	}
	if !p.Required && (p.Default != "" || p.TypeName() != ParamString || len(p.Enum) > 0 || p.Pattern != "") {
		if err := p.Check(p.Default); err != nil {
			return fieldErr(field+".default", fmt.Errorf("the default does not fit: %w", err))
		}
	}
	return nil
}
