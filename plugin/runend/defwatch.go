package runend

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// watchDefinitions drops a job's metric series when its definition is
// deleted or stops being valid (review N7): series exist only for jobs that
// exist. It watches the Secrets of ns that a run's end reads (definitions,
// signing secrets, registries) until ctx ends, and returns their cache:
// the run end reads them from it (jobdef.Store.Cached), not by a request
// each.
func (p *Processor) watchDefinitions(ctx context.Context, ns string) (cache.SharedIndexInformer, error) {
	inf := coreinformers.NewFilteredSecretInformer(p.cfg.Client, ns, 0, cache.Indexers{}, func(o *metav1.ListOptions) {
		o.LabelSelector = jobdef.LabelKind + " in (" + jobdef.KindJob + "," + jobdef.KindSigningSecret + "," + jobdef.KindRegistry + ")"
	})
	if err := inf.SetTransform(dropManagedFields); err != nil {
		return nil, fmt.Errorf("watch job definitions: %w", err)
	}
	forgetInvalid := func(obj any) {
		sec, ok := obj.(*corev1.Secret)
		if !ok || sec.Labels[jobdef.LabelKind] != jobdef.KindJob {
			return
		}
		def, err := jobdef.FromSecret(sec)
		if err == nil {
			err = def.CheckStored()
		}
		if err != nil {
			p.cfg.Metrics.forget(sec.Namespace, jobName(sec))
		}
	}
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { forgetInvalid(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if sec, ok := obj.(*corev1.Secret); ok && sec.Labels[jobdef.LabelKind] == jobdef.KindJob {
				p.cfg.Metrics.forget(sec.Namespace, jobName(sec))
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("watch job definitions: %w", err)
	}
	go inf.Run(ctx.Done())
	return inf, nil
}

// jobName is the name of the job a definition Secret stores.
func jobName(sec *corev1.Secret) string { return strings.TrimPrefix(sec.Name, jobdef.SecretPrefix) }
