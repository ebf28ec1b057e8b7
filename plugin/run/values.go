package run

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// Parameters merges a run's parameters with the job's defaults. Unknown
// names and missing required parameters are errors naming what is allowed.
func Parameters(def *jobdef.Job, given map[string]string) (map[string]string, error) {
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
			return nil, fmt.Errorf("unknown parameter %q: job %s has no parameters", unknown[0], def.Name)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("unknown parameter %q for job %s; allowed: %s", unknown[0], def.Name, strings.Join(names, ", "))
	}
	for k, v := range given {
		// The container runtime refuses such an env value, and a run would
		// sit in CreateContainerError until its timeout.
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return nil, fmt.Errorf("invalid value for parameter %q: it must be UTF-8 text without NUL characters", k)
		}
	}
	out := make(map[string]string, len(names))
	for _, p := range def.Spec.Parameters {
		v, ok := given[p.Name]
		switch {
		case !ok && p.Required:
			return nil, &MissingParamError{Job: def.Name, Param: p.Name}
		case p.Required && v == "":
			return nil, fmt.Errorf("required parameter %q for job %s needs a value, not an empty one", p.Name, def.Name)
		case !ok:
			v = p.Default
		}
		if err := p.Check(v); err != nil {
			return nil, err
		}
		out[p.Name] = v
	}
	return out, nil
}

// Shown is params as runs record and show them: secret values replaced by
// jobdef.SecretValue.
func Shown(def *jobdef.Job, params map[string]string) map[string]string {
	out := make(map[string]string, len(params))
	for _, p := range def.Spec.Parameters {
		if v, ok := params[p.Name]; ok {
			out[p.Name] = p.Shown(v)
		}
	}
	return out
}

// secretParamKey is the key of a secret parameter's value in the run's
// Secret.
func secretParamKey(name string) string { return "param-" + name }

// hasSecretParams reports whether the job has secret parameters.
func hasSecretParams(def *jobdef.Job) bool {
	for _, p := range def.Spec.Parameters {
		if p.Secret {
			return true
		}
	}
	return false
}

// chartValues are the values of the run chart (charts/shipjob-run).
func chartValues(def *jobdef.Job, runName string, img jobdef.ResolvedImage, params map[string]string,
	filesSecret string, annotations map[string]string, tasks int32) (map[string]any, error) {
	s := def.Spec
	env := []any{}
	for _, e := range s.Env {
		env = append(env, map[string]any{"name": e.Name, "value": e.Value})
	}
	for _, p := range s.Parameters {
		if p.Secret {
			// From the run's own Secret: the value is in no record.
			env = append(env, map[string]any{"name": p.Name, "secretKey": secretParamKey(p.Name)})
			continue
		}
		env = append(env, map[string]any{"name": p.Name, "value": params[p.Name]})
	}
	if tasks > 1 {
		env = append(env, map[string]any{"name": jobdef.EnvTaskIndex, "taskIndex": true},
			map[string]any{"name": jobdef.EnvTaskCount, "value": fmt.Sprint(tasks)})
	}
	files := []any{}
	for i, f := range s.Files {
		files = append(files, map[string]any{"path": f.Path, "key": fileKey(i)})
	}
	deadline := int64(0)
	if d, ok, err := jobdef.ParseDuration("timeout", s.Timeout); err != nil {
		return nil, err
	} else if ok {
		deadline = int64(d / time.Second)
	}
	reqMem, reqCPU := s.Resources.RequestsMemory, s.Resources.RequestsCPU
	if reqMem == "" {
		reqMem = s.Resources.Memory
	}
	if reqCPU == "" {
		reqCPU = s.Resources.CPU
	}
	labels := map[string]any{}
	for k, v := range def.Labels {
		labels[k] = v
	}
	ann := map[string]any{}
	for k, v := range annotations {
		ann[k] = v
	}
	return map[string]any{
		"job":              def.Name,
		"run":              runName,
		"image":            img.Image,
		"imagePullSecrets": toAny(img.PullSecrets),
		"command":          toAny(s.Command),
		"args":             toAny(s.Args),
		"env":              env,
		"envFromSecrets":   toAny(s.EnvFromSecrets),
		"filesSecret":      filesSecret,
		"files":            files,
		"resources": map[string]any{
			"limits":   map[string]any{"memory": s.Resources.Memory, "cpu": s.Resources.CPU},
			"requests": map[string]any{"memory": reqMem, "cpu": reqCPU},
		},
		"activeDeadlineSeconds": deadline,
		"tasks":                 int64(tasks),
		"parallelism":           int64(min(def.Spec.Parallelism, max(tasks, 1))),
		"backoffLimit":          int64(s.Retries),
		"serviceAccountName":    s.ServiceAccountName,
		"labels":                labels,
		"annotations":           ann,
	}, nil
}

func fileKey(i int) string { return fmt.Sprintf("file-%d", i) }

func toAny(ss []string) []any {
	out := make([]any, 0, len(ss))
	for _, s := range ss {
		out = append(out, s)
	}
	return out
}
