package run

import (
	"context"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// dryRun shows exactly what a trigger would apply (the post-rendered Job
// and the run's Secrets: the job's files, the run's secret parameters)
// without touching the release. In server mode the objects are also sent
// to the API server with dryRun=All, which validates and admits them but
// writes nothing.
func (t *Triggerer) dryRun(ctx context.Context, p *Plan, mode DryRun) (*Result, error) {
	p.stamp(time.Now())
	res := p.result()
	manifest, err := t.Releaser.Render(ctx, p)
	if err != nil {
		return res, err
	}
	var b strings.Builder
	b.WriteString(strings.TrimSpace(manifest))
	b.WriteString("\n")
	for _, sec := range []*corev1.Secret{p.Files, p.ParamsSecret} {
		if sec == nil {
			continue
		}
		s := sec.DeepCopy()
		s.APIVersion, s.Kind = "v1", "Secret"
		data, err := yaml.Marshal(s)
		if err != nil {
			return res, fmt.Errorf("encode secret %s: %w", s.Name, err)
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	// What is printed never holds a secret parameter's value; a server dry
	// run sends the real objects (they are validated, not written).
	shown, err := maskSecretParams(p.Def, b.String())
	if err != nil {
		return res, err
	}
	if mode == DryRunServer {
		if err := t.serverDryRun(ctx, p, manifest); err != nil {
			return res, err
		}
	}
	res.Manifest = shown
	return res, nil
}

// serverDryRun sends the run's objects with dryRun=All.
func (t *Triggerer) serverDryRun(ctx context.Context, p *Plan, manifest string) error {
	var job batchv1.Job
	if i := strings.Index(manifest, "apiVersion:"); i >= 0 {
		manifest = manifest[i:]
	}
	if err := yaml.Unmarshal([]byte(manifest), &job); err != nil {
		return fmt.Errorf("decode rendered run: %w", err)
	}
	ns, all := p.Def.Namespace, []string{metav1.DryRunAll}
	if _, err := t.Client.BatchV1().Jobs(ns).Create(ctx, &job, metav1.CreateOptions{DryRun: all}); err != nil {
		return fmt.Errorf("server dry run of run %s: %w", p.Run, err)
	}
	if p.Files != nil {
		// Runs with these files share the Secret: it may exist already.
		_, err := t.Client.CoreV1().Secrets(ns).Create(ctx, p.Files, metav1.CreateOptions{DryRun: all})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("server dry run of files of run %s: %w", p.Run, err)
		}
	}
	if p.ParamsSecret != nil {
		if _, err := t.Client.CoreV1().Secrets(ns).Create(ctx, p.ParamsSecret, metav1.CreateOptions{DryRun: all}); err != nil {
			return fmt.Errorf("server dry run of secret parameters of run %s: %w", p.Run, err)
		}
	}
	return nil
}
