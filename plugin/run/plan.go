package run

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

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
	files    *corev1.Secret
	// rendered is the last manifest the renderer produced.
	rendered string
	// admit applies the concurrency rules once the release is held (given
	// the resourceVersion of this trigger's release record); nil: none.
	admit func(recordRV string) error
}

func newPlan(def *jobdef.Job, img jobdef.ResolvedImage, params map[string]string, by string, now time.Time, tasks int32) (*plan, error) {
	p := &plan{run: NewName(def.Name, now)}
	var err error
	if p.chart, err = charts.Run(); err != nil {
		return nil, err
	}
	ttl, keep, err := jobdef.ParseDuration("retention", def.Spec.Retention)
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
	if err := enc.Encode(Shown(def, params)); err != nil {
		return nil, fmt.Errorf("encode parameters: %w", err)
	}
	ann := map[string]string{
		AnnotationTriggeredBy: by,
		AnnotationTriggeredAt: now.UTC().Format(time.RFC3339Nano),
		AnnotationParameters:  strings.TrimSuffix(paramJSON.String(), "\n"),
		AnnotationImage:       img.Image,
		AnnotationJobUID:      string(def.UID),
	}
	if def.Spec.Timeout != jobdef.None {
		ann[AnnotationTimeout] = def.Spec.Timeout
	}
	filesName := ""
	if len(def.Spec.Files) > 0 || hasSecretParams(def) {
		filesName = p.run + "-files"
		p.files = filesSecret(def, p.run, filesName, params)
		p.renderer.want.FilesSecret = filesName
	}
	p.values, err = chartValues(def, p.run, img, params, filesName, ann, tasks)
	return p, err
}

// setIdempotencyKey records key on the run: the key itself in an
// annotation, its hash as a label of the Job (to find it by).
func (p *plan) setIdempotencyKey(key string) {
	if key == "" {
		return
	}
	p.values["annotations"].(map[string]any)[AnnotationIdempotencyKey] = key
	p.values["idempotency"] = idempotencyLabel(key)
}

// setRerunOf records the run this one repeats.
func (p *plan) setRerunOf(run string) {
	if run != "" {
		p.values["annotations"].(map[string]any)[AnnotationRerunOf] = run
	}
}
