package helmrun

import (
	"bytes"
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	helmpostrender "helm.sh/helm/v3/pkg/postrender"

	"github.com/shipjob/kubectl-shipjob/charts"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"github.com/shipjob/kubectl-shipjob/postrender"
)

// rendering is a run's Plan as Helm renders it: the run chart, its values,
// and the post-renderer that checks the result against the Plan.
type rendering struct {
	chart    *chart.Chart
	values   chartutil.Values
	renderer *checkedRenderer
}

func newRendering(p *run.Plan) (*rendering, error) {
	c, err := charts.Run()
	if err != nil {
		return nil, err
	}
	opts := postrender.Options{Keep: true, Override: true, TTL: p.TTL}
	values, err := chartValues(p)
	if err != nil {
		return nil, err
	}
	return &rendering{chart: c, values: values, renderer: &checkedRenderer{renderer: postrender.Renderer{Options: opts}, plan: p}}, nil
}

// checkedRenderer post-renders a run and then checks that what is about to
// be applied is what the run chart can produce from a valid definition
// (run.Plan.CheckManifest): one batch/v1 Job of the run's name, one
// container, no host namespaces, no volumes but the run's files Secret, no
// security context or added capabilities, and the image, service account
// and Secrets the definition names. Definitions are validated before they
// are rendered and the chart quotes every value, so this never fails
// unless one of those defences has a hole: it is the last one (defence in
// depth), and a failure is a RenderError (a bug report), never a run.
type checkedRenderer struct {
	renderer postrender.Renderer
	plan     *run.Plan
	// rendered is the last checked manifest.
	rendered string
}

var _ helmpostrender.PostRenderer = (*checkedRenderer)(nil)

func (r *checkedRenderer) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	out, err := r.renderer.Run(in)
	if err != nil {
		return nil, err
	}
	if err := r.plan.CheckManifest(out.Bytes()); err != nil {
		return nil, &run.RenderError{Err: err}
	}
	r.rendered = out.String()
	return out, nil
}

// chartValues are the values of the run chart (charts/shipjob-run) for p.
func chartValues(p *run.Plan) (chartutil.Values, error) {
	def := p.Def
	s := def.Spec
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
	files := []any{}
	for i, f := range s.Files {
		files = append(files, map[string]any{"path": f.Path, "key": run.FileKey(i)})
	}
	filesSecret, paramsSecret := "", ""
	if p.Files != nil {
		filesSecret = p.Files.Name
	}
	if p.ParamsSecret != nil {
		paramsSecret = p.ParamsSecret.Name
	}
	values := chartutil.Values{
		"job":              def.Name,
		"run":              p.Run,
		"image":            p.Image,
		"imagePullSecrets": toAny(p.PullSecrets),
		"command":          toAny(s.Command),
		"args":             toAny(s.Args),
		"env":              chartEnv(p),
		"envFromSecrets":   toAny(s.EnvFromSecrets),
		"filesSecret":      filesSecret,
		"paramsSecret":     paramsSecret,
		"files":            files,
		"resources": map[string]any{
			"limits":   map[string]any{"memory": s.Resources.Memory, "cpu": s.Resources.CPU},
			"requests": map[string]any{"memory": reqMem, "cpu": reqCPU},
		},
		"activeDeadlineSeconds": deadline,
		"tasks":                 int64(p.Tasks),
		"parallelism":           int64(min(s.Parallelism, max(p.Tasks, 1))),
		"backoffLimit":          int64(s.Retries),
		"serviceAccountName":    s.ServiceAccountName,
		"labels":                anyMap(def.Labels),
		"annotations":           anyMap(p.Annotations),
	}
	if p.IdempotencyLabel != "" {
		values["idempotency"] = p.IdempotencyLabel
	}
	return values, nil
}

// chartEnv is the container's env: the job's, then its parameters (secret
// ones from the run's own Secret: the value is in no record), then the
// task variables of a run of several tasks.
func chartEnv(p *run.Plan) []any {
	env := []any{}
	for _, e := range p.Def.Spec.Env {
		env = append(env, map[string]any{"name": e.Name, "value": e.Value})
	}
	for _, param := range p.Def.Spec.Parameters {
		if param.Secret {
			env = append(env, map[string]any{"name": param.Name, "secretKey": run.SecretParamKey(param.Name)})
			continue
		}
		env = append(env, map[string]any{"name": param.Name, "value": p.Params[param.Name]})
	}
	if p.Tasks > 1 {
		env = append(env, map[string]any{"name": jobdef.EnvTaskIndex, "taskIndex": true},
			map[string]any{"name": jobdef.EnvTaskCount, "value": fmt.Sprint(p.Tasks)})
	}
	return env
}

func anyMap(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func toAny(ss []string) []any {
	out := make([]any, 0, len(ss))
	for _, s := range ss {
		out = append(out, s)
	}
	return out
}
