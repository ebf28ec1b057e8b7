package helmrun

import (
	"fmt"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

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
	filesSecret, paramsSecret string, annotations map[string]string, tasks int32) (map[string]any, error) {
	s := def.Spec
	env := []any{}
	for _, e := range s.Env {
		env = append(env, map[string]any{"name": e.Name, "value": e.Value})
	}
	for _, p := range s.Parameters {
		if p.Secret {
			// From the run's own Secret (paramsSecret): the value is in no record.
			env = append(env, map[string]any{"name": p.Name, "secretKey": run.SecretParamKey(p.Name)})
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
		"paramsSecret":     paramsSecret,
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
