package helmrun

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/run"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// filesSecret copies the job's files for one run, so later edits of the
// job don't change it. After the Job exists it becomes the Secret's owner
// and the garbage collector removes the files with the run.
func filesSecret(def *jobdef.Job, runName, name string, params map[string]string) *corev1.Secret {
	data := map[string][]byte{}
	for i, f := range def.Spec.Files {
		data[fileKey(i)] = f.Bytes()
	}
	for _, p := range def.Spec.Parameters {
		if p.Secret {
			data[run.SecretParamKey(p.Name)] = []byte(params[p.Name])
		}
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: def.Namespace, Labels: map[string]string{
			jobdef.LabelManagedBy: jobdef.ManagedBy, run.LabelKind: run.KindRunFiles, run.LabelJob: def.Name, run.LabelRun: runName}},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
}

func (t *Triggerer) ownFiles(ctx context.Context, ns string, p *plan, info *resource.Info) error {
	var uid types.UID
	if m, err := meta.Accessor(info.Object); err == nil {
		uid = m.GetUID()
	}
	if uid == "" {
		job, err := t.Client.BatchV1().Jobs(ns).Get(ctx, p.run, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("read run %s to hand it its files: %w", p.run, err)
		}
		uid = job.UID
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": []metav1.OwnerReference{{
		APIVersion: "batch/v1", Kind: "Job", Name: p.run, UID: uid, BlockOwnerDeletion: ptrTo(true),
	}}}})
	if err != nil {
		return err
	}
	if _, err := t.Client.CoreV1().Secrets(ns).Patch(ctx, p.files.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("hand the files of run %s to its Job: %w", p.run, err)
	}
	return nil
}

// orphanAge is how old (on the API server's clock) a files Secret without
// owner must be to count as left behind by a killed trigger; sweepEvery is
// how often one process sweeps a job's orphans.
const (
	orphanAge  = 2 * time.Minute
	sweepEvery = 5 * time.Minute
)

// sweepOrphanFiles deletes files Secrets of job that a killed trigger
// created but never handed to a Job. Best effort, at most every sweepEvery
// per job, and it lists metadata only: a job with many retained runs has as
// many files Secrets, each up to 1 MiB.
func (t *Triggerer) sweepOrphanFiles(ctx context.Context, ns, job string) {
	key := ns + "/" + job
	if last, ok := t.swept.Load(key); ok && time.Since(last.(time.Time)) < sweepEvery {
		return
	}
	t.swept.Store(key, time.Now())
	items, err := run.ListMetadata(ctx, t.Client, ns, run.LabelKind+"="+run.KindRunFiles+","+run.LabelJob+"="+job)
	if err != nil {
		return
	}
	for _, m := range items {
		if len(m.OwnerReferences) == 0 && t.Clock.Since(m.CreationTimestamp.Time) > orphanAge {
			_ = t.Client.CoreV1().Secrets(ns).Delete(ctx, m.Name, metav1.DeleteOptions{
				Preconditions: &metav1.Preconditions{UID: &m.UID, ResourceVersion: &m.ResourceVersion}})
		}
	}
}
