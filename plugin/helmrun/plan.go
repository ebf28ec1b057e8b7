package helmrun

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/run"

	"helm.sh/helm/v3/pkg/chart"
	corev1 "k8s.io/api/core/v1"

	"github.com/shipjob/kubectl-shipjob/charts"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/postrender"
)

// plan is everything a trigger renders, computed before any write.
type plan struct {
	run      string
	chart    *chart.Chart
	values   map[string]any
	renderer *checkedRenderer
	// files is the job's shared files Secret, params the run's own Secret
	// of secret parameter values (nil: none).
	files, params *corev1.Secret
	// rendered is the last manifest the renderer produced.
	rendered string
	// admit applies the concurrency rules once the release is held (given
	// the resourceVersion of this trigger's release record); nil: none.
	admit func(recordRV string) error
	// perMinute is the job's maxRunsPerMinute (0: no limit): see rateLabels.
	perMinute int
}

func newPlan(def *jobdef.Job, img jobdef.ResolvedImage, params map[string]string, by string, now time.Time, tasks int32) (*plan, error) {
	p := &plan{run: run.NewName(def.Name, now)}
	var err error
	if p.chart, err = charts.Run(); err != nil {
		return nil, err
	}
	// The outcome is not known yet: the longer retention holds until the
	// hook server (if one runs) shortens it by the outcome.
	ttl, keep, err := def.Spec.LongestRetention()
	if err != nil {
		return nil, err
	}
	opts := postrender.Options{Keep: true, Override: true}
	if keep {
		opts.TTL = &ttl
	}
	p.renderer = &checkedRenderer{renderer: postrender.Renderer{Options: opts}, rendered: &p.rendered, want: renderWant{
		Namespace: def.Namespace, Run: p.run, Image: img.Image, ServiceAccount: def.Spec.ServiceAccountName,
		PullSecrets: img.PullSecrets, EnvFromSecrets: def.Spec.EnvFromSecrets}}
	var paramJSON bytes.Buffer
	enc := json.NewEncoder(&paramJSON)
	enc.SetEscapeHTML(false) // "<secret>" reads as it is
	if err := enc.Encode(run.Shown(def, params)); err != nil {
		return nil, fmt.Errorf("encode parameters: %w", err)
	}
	ann := map[string]string{
		run.AnnotationTriggeredBy: by,
		run.AnnotationTriggeredAt: now.UTC().Format(time.RFC3339Nano),
		run.AnnotationParameters:  strings.TrimSuffix(paramJSON.String(), "\n"),
		run.AnnotationImage:       img.Image,
		run.AnnotationJobUID:      string(def.UID),
	}
	if def.Spec.Timeout != jobdef.None {
		ann[run.AnnotationTimeout] = def.Spec.Timeout
	}
	// An idempotency retry with other secret values is a conflict.
	digest, err := run.SecretDigest(run.SecretValues(def, params))
	if err != nil {
		return nil, err
	}
	if digest != "" {
		ann[run.AnnotationSecretDigest] = digest
	}
	var filesName, paramsName string
	if p.files = filesSecret(def); p.files != nil {
		filesName = p.files.Name
	}
	if p.params = paramsSecret(def, p.run, params); p.params != nil {
		paramsName = p.params.Name
	}
	p.renderer.want.FilesSecret, p.renderer.want.ParamsSecret = filesName, paramsName
	p.values, err = chartValues(def, p.run, img, params, filesName, paramsName, ann, tasks)
	return p, err
}

// setIdempotencyKey records key on the run: the key itself in an
// annotation, its hash as a label of the Job (to find it by).
func (p *plan) setIdempotencyKey(key string) {
	if key == "" {
		return
	}
	p.values["annotations"].(map[string]any)[run.AnnotationIdempotencyKey] = key
	p.values["idempotency"] = run.IdempotencyLabel(key)
}

// setRerunOf records the run this one repeats.
func (p *plan) setRerunOf(runName string) {
	if runName != "" {
		p.values["annotations"].(map[string]any)[run.AnnotationRerunOf] = runName
	}
}
