package run

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// filesSecret is the files Secret of def as it is now (nil: no files),
// named by its content (FilesSecretName) and immutable: every run
// with these files mounts this one Secret, so later edits of the job
// (which give another name) don't change it. Each run's Job becomes one
// of its owners; the garbage collector removes it with the last of them.
func filesSecret(def *jobdef.Job) *corev1.Secret {
	if len(def.Spec.Files) == 0 {
		return nil
	}
	data := map[string][]byte{}
	for i, f := range def.Spec.Files {
		data[FileKey(i)] = f.Bytes()
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: FilesSecretName(def.Name, filesHash(data)), Namespace: def.Namespace,
			Labels: map[string]string{jobdef.LabelManagedBy: jobdef.ManagedBy, LabelKind: KindRunFiles, LabelJob: def.Name}},
		Type:      corev1.SecretTypeOpaque,
		Immutable: ptrTo(true),
		Data:      data,
	}
}

// paramsSecret is runName's own Secret of its secret parameter values
// (nil: the job has no secret parameters). After the Job exists it becomes
// the Secret's only owner.
func paramsSecret(def *jobdef.Job, runName string, params map[string]string) *corev1.Secret {
	data := map[string][]byte{}
	for _, p := range def.Spec.Parameters {
		if p.Secret {
			data[SecretParamKey(p.Name)] = []byte(params[p.Name])
		}
	}
	if len(data) == 0 {
		return nil
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: ParamsSecretName(runName), Namespace: def.Namespace, Labels: map[string]string{
			jobdef.LabelManagedBy: jobdef.ManagedBy, LabelKind: KindRunParams, LabelJob: def.Name, LabelRun: runName}},
		Type:      corev1.SecretTypeOpaque,
		Immutable: ptrTo(true),
		Data:      data,
	}
}

// storeFiles makes sure the files Secret of p exists with p's content
// before the run's Job is created. created is the Secret this call
// created (nil: it existed already, as for every run after the first with
// these files). A Secret of that name with other content or labels (made
// or edited by someone else) is refused: nothing is written then.
func (t *Triggerer) storeFiles(ctx context.Context, ns string, want *corev1.Secret) (created *corev1.Secret, _ error) {
	secrets := t.Client.CoreV1().Secrets(ns)
	s, err := secrets.Create(ctx, want, metav1.CreateOptions{FieldManager: jobdef.ManagedBy})
	if err == nil {
		return s, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("store files %s: %w", want.Name, err)
	}
	s, err = secrets.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		// Deleted meanwhile (its last run went): the Secret is made again
		// once the Job exists (ownFiles).
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read files %s: %w", want.Name, err)
	}
	return nil, sameFiles(s, want)
}

// sameFiles checks that got (read back: input) is the files Secret want.
func sameFiles(got, want *corev1.Secret) error {
	same := got.Labels[LabelKind] == KindRunFiles && got.Labels[LabelJob] == want.Labels[LabelJob] &&
		len(got.Data) == len(want.Data) && len(got.StringData) == 0
	for k, v := range want.Data {
		if g, ok := got.Data[k]; !ok || !bytes.Equal(g, v) {
			same = false
		}
	}
	if !same {
		return fmt.Errorf("secret %s exists but is not the files Secret of job %s it names (other content or labels): delete it and trigger again", got.Name, want.Labels[LabelJob])
	}
	return nil
}

// runUID is the UID of the run's created Job (read back if the Releaser
// did not report it).
func (t *Triggerer) runUID(ctx context.Context, p *Plan, uid types.UID) (types.UID, error) {
	if uid != "" {
		return uid, nil
	}
	job, err := t.Client.BatchV1().Jobs(p.Def.Namespace).Get(ctx, p.Run, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("read run %s to hand it its Secrets: %w", p.Run, err)
	}
	return job.UID, nil
}

// ownSecrets hands the run's Secrets to its Job, which now exists: the
// params Secret gets it as its only owner, the shared files Secret gets it
// added to its owners (ownFiles).
func (t *Triggerer) ownSecrets(ctx context.Context, p *Plan, jobUID types.UID) error {
	ns := p.Def.Namespace
	uid, err := t.runUID(ctx, p, jobUID)
	if err != nil {
		return err
	}
	owner := metav1.OwnerReference{APIVersion: "batch/v1", Kind: "Job", Name: p.Run, UID: uid, BlockOwnerDeletion: ptrTo(true)}
	if p.ParamsSecret != nil {
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": []metav1.OwnerReference{owner}}})
		if err != nil {
			return err
		}
		if _, err := t.Client.CoreV1().Secrets(ns).Patch(ctx, p.ParamsSecret.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("hand the secret parameters of run %s to its Job: %w", p.Run, err)
		}
	}
	if p.Files != nil {
		return t.ownFiles(ctx, ns, p, owner)
	}
	return nil
}

// ownFilesTries bounds ownFiles' rounds (each a patch, or a create).
const ownFilesTries = 5

// ownFiles adds owner (the run's Job, which exists) to the owners of the
// shared files Secret, or creates the Secret owned by it when it is gone.
//
// The race with the garbage collector: the Secret may have lost its last
// owner (the previous run deleted by its TTL) between storeFiles and now.
// The collector deletes a dependent with a precondition on the
// resourceVersion at which it found every owner gone, and keeps it when
// the owners changed since; so either this patch lands first (the delete
// then conflicts and the collector sees a live owner), or the delete
// lands first and the patch finds no Secret, and it is made again here,
// owned by the Job. Either way the trigger ends with a Job whose files
// Secret exists and lists it as owner. A Secret being deleted (foreground
// deletion still pending) is waited for and made again.
func (t *Triggerer) ownFiles(ctx context.Context, ns string, p *Plan, owner metav1.OwnerReference) error {
	secrets := t.Client.CoreV1().Secrets(ns)
	// A strategic merge patch merges ownerReferences by uid: it adds this
	// one and keeps the other runs'.
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": []metav1.OwnerReference{owner}}})
	if err != nil {
		return err
	}
	for try := 0; ; try++ {
		s, err := secrets.Patch(ctx, p.Files.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		switch {
		case err == nil && s.DeletionTimestamp == nil:
			return sameFiles(s, p.Files)
		case err == nil:
			// Being deleted: wait for it to go, then make it again.
		case apierrors.IsNotFound(err):
			again := p.Files.DeepCopy()
			again.OwnerReferences = []metav1.OwnerReference{owner}
			_, err = secrets.Create(ctx, again, metav1.CreateOptions{FieldManager: jobdef.ManagedBy})
			if err == nil {
				return nil
			}
			if !apierrors.IsAlreadyExists(err) { // AlreadyExists: another trigger made it; patch it
				return fmt.Errorf("store files %s of run %s again: %w", p.Files.Name, p.Run, err)
			}
		default:
			return fmt.Errorf("hand files %s to run %s: %w", p.Files.Name, p.Run, err)
		}
		if try+1 == ownFilesTries {
			return fmt.Errorf("hand files %s to run %s: still being deleted after %d tries", p.Files.Name, p.Run, ownFilesTries)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("hand files %s to run %s: %w", p.Files.Name, p.Run, ctx.Err())
		case <-time.After(time.Duration(try+1) * 200 * time.Millisecond):
		}
	}
}

// orphanAge is how old (on the API server's clock) a run Secret without
// owner must be to count as left behind by a killed trigger; sweepEvery is
// how often one process sweeps a job's orphans.
const (
	orphanAge  = 2 * time.Minute
	sweepEvery = 5 * time.Minute
)

// sweepOrphanFiles deletes files and params Secrets of job that a killed
// trigger created but never handed to a Job. Best effort, at most every
// sweepEvery per job, and it lists metadata only (files Secrets take up to
// 1 MiB each). The delete carries the resourceVersion it saw, so a Secret
// a trigger has meanwhile handed to its Job stays; a trigger that finds its
// files Secret swept makes it again (ownFiles).
func (t *Triggerer) sweepOrphanFiles(ctx context.Context, ns, job string) {
	key := ns + "/" + job
	if last, ok := t.swept.Load(key); ok && time.Since(last.(time.Time)) < sweepEvery {
		return
	}
	t.swept.Store(key, time.Now())
	items, err := listMetadata(ctx, t.Client, ns, filesSelector(job))
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

// dropFiles deletes a files Secret this trigger created when its run was
// not created after all, unless another trigger has made it its run's
// meanwhile (the resourceVersion precondition then fails).
func (t *Triggerer) dropFiles(ctx context.Context, ns string, created *corev1.Secret) {
	if created == nil {
		return
	}
	_ = t.Client.CoreV1().Secrets(ns).Delete(context.WithoutCancel(ctx), created.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &created.UID, ResourceVersion: &created.ResourceVersion}})
}

// FileKey is the key of the job's i-th file in its files Secret.
func FileKey(i int) string { return fmt.Sprintf("file-%d", i) }

func ptrTo[T any](v T) *T { return &v }
