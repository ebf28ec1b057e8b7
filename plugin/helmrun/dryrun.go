package helmrun

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/shipjob/kubectl-shipjob/plugin/run"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// dryRun renders exactly what a trigger would apply (post-rendered Job and
// the run's Secrets: the job's files, the run's secret parameters) without touching the release. In server mode the
// objects are also sent to the API server with dryRun=All, which validates
// and admits them but writes nothing.
func (t *Triggerer) dryRun(ctx context.Context, req run.Request, def *jobdef.Job, p *plan) (string, error) {
	cfg := &action.Configuration{
		Releases:     storage.Init(driver.NewMemory()),
		KubeClient:   &kubefake.PrintingKubeClient{Out: io.Discard},
		Capabilities: chartutil.DefaultCapabilities,
		Log:          discardLog,
	}
	in := action.NewInstall(cfg)
	in.DryRun, in.ClientOnly, in.Replace = true, true, true
	in.ReleaseName, in.Namespace = def.Name, req.Namespace
	in.PostRenderer = p.renderer
	rel, err := in.RunWithContext(ctx, p.chart, p.values)
	if err != nil {
		return "", fmt.Errorf("render run of job %s: %w", def.Name, err)
	}
	var b strings.Builder
	b.WriteString(strings.TrimSpace(rel.Manifest))
	b.WriteString("\n")
	for _, sec := range []*corev1.Secret{p.files, p.params} {
		if sec == nil {
			continue
		}
		s := sec.DeepCopy()
		s.APIVersion, s.Kind = "v1", "Secret"
		data, err := yaml.Marshal(s)
		if err != nil {
			return "", fmt.Errorf("encode secret %s: %w", s.Name, err)
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	// What is printed never holds a secret parameter's value; a server dry
	// run sends the real objects (they are validated, not written).
	shown, err := maskSecretParams(def, b.String())
	if err != nil {
		return "", err
	}
	if req.DryRun != run.DryRunServer {
		return shown, nil
	}
	var job batchv1.Job
	doc := rel.Manifest
	if i := strings.Index(doc, "apiVersion:"); i >= 0 {
		doc = doc[i:]
	}
	if err := yaml.Unmarshal([]byte(doc), &job); err != nil {
		return "", fmt.Errorf("decode rendered run: %w", err)
	}
	all := []string{metav1.DryRunAll}
	if _, err := t.Client.BatchV1().Jobs(req.Namespace).Create(ctx, &job, metav1.CreateOptions{DryRun: all}); err != nil {
		return "", fmt.Errorf("server dry run of run %s: %w", p.run, err)
	}
	if p.files != nil {
		// Runs with these files share the Secret: it may exist already.
		_, err := t.Client.CoreV1().Secrets(req.Namespace).Create(ctx, p.files, metav1.CreateOptions{DryRun: all})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return "", fmt.Errorf("server dry run of files of run %s: %w", p.run, err)
		}
	}
	if p.params != nil {
		if _, err := t.Client.CoreV1().Secrets(req.Namespace).Create(ctx, p.params, metav1.CreateOptions{DryRun: all}); err != nil {
			return "", fmt.Errorf("server dry run of secret parameters of run %s: %w", p.run, err)
		}
	}
	return shown, nil
}
