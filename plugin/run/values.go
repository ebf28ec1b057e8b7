package run

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// mergeParams merges a run's parameters with the job's defaults. Unknown
// names and missing required parameters are errors naming what is allowed;
// a refused parameter is an *InputError (or *MissingParamError) with its
// Param.
func mergeParams(def *jobdef.Job, given map[string]string) (map[string]string, error) {
	known := map[string]jobdef.Parameter{}
	var names []string
	for _, p := range def.Spec.Parameters {
		known[p.Name] = p
		names = append(names, p.Name)
	}
	var unknown []string
	for k := range given {
		if _, ok := known[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		if len(names) == 0 {
			return nil, &InputError{Param: unknown[0], Err: fmt.Errorf("unknown parameter %q: job %s has no parameters", unknown[0], def.Name)}
		}
		sort.Strings(names)
		return nil, &InputError{Param: unknown[0], Err: fmt.Errorf("unknown parameter %q for job %s; allowed: %s", unknown[0], def.Name, strings.Join(names, ", "))}
	}
	for k, v := range given {
		// The container runtime refuses such an env value, and a run would
		// sit in CreateContainerError until its timeout.
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return nil, &InputError{Param: k, Err: fmt.Errorf("invalid value for parameter %q: it must be UTF-8 text without NUL characters", k)}
		}
	}
	out := make(map[string]string, len(names))
	for _, p := range def.Spec.Parameters {
		v, ok := given[p.Name]
		switch {
		case !ok && p.Required:
			return nil, &MissingParamError{Job: def.Name, Param: p.Name}
		case p.Required && v == "":
			return nil, &InputError{Param: p.Name, Err: fmt.Errorf("required parameter %q for job %s needs a value, not an empty one", p.Name, def.Name)}
		case !ok:
			v = p.Default
		}
		if err := p.Check(v); err != nil {
			return nil, &InputError{Param: p.Name, Err: err}
		}
		out[p.Name] = v
	}
	return out, nil
}

// shownParams is params as runs record and show them: secret values replaced by
// jobdef.SecretValue.
func shownParams(def *jobdef.Job, params map[string]string) map[string]string {
	out := make(map[string]string, len(params))
	for _, p := range def.Spec.Parameters {
		if v, ok := params[p.Name]; ok {
			out[p.Name] = p.Shown(v)
		}
	}
	return out
}

// SecretParamKey is the key of a secret parameter's value in the run's
// Secret.
func SecretParamKey(name string) string { return "param-" + name }
