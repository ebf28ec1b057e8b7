package run

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// RerunRequest returns the trigger request that repeats run: a new run of
// its job, under the job's definition as it is now, with run's parameters
// and image tag unless params and tag override them. The caller adds
// TriggeredBy (and IdempotencyKey, DryRun) and passes it to
// Triggerer.Trigger, which checks it like any trigger (unknown parameters,
// required ones the definition has gained since). Secret parameters are
// carried too: their values are read from the run's own Secret.
//
// What of run cannot be carried over is left out, with a warning each:
// parameters the definition no longer has, and the image tag when the
// job's image repository has changed since or the job is now pinned to a
// digest. A run that was pinned to a digest is rerun pinned, to the
// digest the job has now. Errors: NotFound (no such run), or the job's.
func RerunRequest(ctx context.Context, client kubernetes.Interface, ns, run string, params map[string]string, tag string) (Request, []string, error) {
	job, def, err := verifiedRun(ctx, client, ns, run, true)
	if err != nil {
		return Request{}, nil, err
	}
	name := def.Name
	store := &jobdef.Store{Client: client, Namespace: ns}
	var old map[string]string
	if p := job.Annotations[AnnotationParameters]; p != "" {
		if err := json.Unmarshal([]byte(p), &old); err != nil {
			return Request{}, nil, fmt.Errorf("run %s: read its parameters (annotation %s): %w", run, AnnotationParameters, err)
		}
	}
	req := Request{Namespace: ns, Job: name, RerunOf: run, Tag: tag}
	var warnings []string
	req.Params, warnings = carryParams(def, run, old, params)
	if err := revealSecrets(ctx, client, def, job, req.Params, params); err != nil {
		return Request{}, nil, err
	}
	if tag == "" {
		var w string
		req.Tag, w, err = carryTag(ctx, store, def, run, job.Annotations[AnnotationImage])
		if err != nil {
			return Request{}, nil, err
		}
		if w != "" {
			warnings = append(warnings, w)
		}
	}
	return req, warnings, nil
}

// carryParams are run's parameters the definition still has, overridden by
// given (whose names the trigger checks), and a warning for each dropped.
func carryParams(def *jobdef.Job, run string, old, given map[string]string) (map[string]string, []string) {
	known := map[string]bool{}
	for _, p := range def.Spec.Parameters {
		known[p.Name] = true
	}
	out := map[string]string{}
	var warnings []string
	for _, k := range sortedKeys(old) {
		if _, over := given[k]; over {
			continue
		}
		if !known[k] {
			warnings = append(warnings, fmt.Sprintf("parameter %s of run %s is dropped: job %s no longer has it", k, run, def.Name))
			continue
		}
		out[k] = old[k]
	}
	for k, v := range given {
		out[k] = v
	}
	return out, warnings
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// revealSecrets replaces the secret parameters' stand-ins (recorded as
// jobdef.SecretValue) with the run's values. Only a parameter that is
// secret in def (the definition as it is now) is revealed, only from the
// run's own Secret (ParamsSecretName, owned by the run's Job: its UID), only
// from its key SecretParamKey(NAME): never from whatever Secret the Job's
// env points at. A stand-in of a parameter that is not secret now (it was
// when the run was made) is a *SecretParamError asking for the value, as
// is a Secret that is gone, not the run's own or without the key. given
// (the overrides) are the caller's.
func revealSecrets(ctx context.Context, client kubernetes.Interface, def *jobdef.Job, job *batchv1.Job, params, given map[string]string) error {
	secret := map[string]bool{}
	for _, p := range def.Spec.Parameters {
		secret[p.Name] = p.Secret
	}
	var sec *corev1.Secret
	for _, name := range sortedKeys(params) {
		if _, over := given[name]; over || params[name] != jobdef.SecretValue {
			continue // a value of its own
		}
		if !secret[name] {
			return &SecretParamError{Run: job.Name, Param: name, Err: fmt.Errorf(
				"its value was recorded as %s, and job %s no longer keeps it secret: it is not revealed", jobdef.SecretValue, def.Name)}
		}
		if sec == nil {
			var err error
			if sec, err = ownSecret(ctx, client, job); err != nil {
				return &SecretParamError{Run: job.Name, Param: name, Err: err}
			}
		}
		v, ok := sec.Data[SecretParamKey(name)]
		if !ok {
			return &SecretParamError{Run: job.Name, Param: name, Err: fmt.Errorf("not in its Secret %s", sec.Name)}
		}
		params[name] = string(v)
	}
	return nil
}

// ownSecret reads the Secret of job's secret parameter values
// (ParamsSecretName; LegacyRunSecretName for a run made before files were
// shared), which must be owned by job itself (its UID).
func ownSecret(ctx context.Context, client kubernetes.Interface, job *batchv1.Job) (*corev1.Secret, error) {
	name := ParamsSecretName(job.Name)
	sec, err := client.CoreV1().Secrets(job.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		name = LegacyRunSecretName(job.Name)
		sec, err = client.CoreV1().Secrets(job.Namespace).Get(ctx, name, metav1.GetOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("read its Secret: %w", err)
	}
	for _, o := range sec.OwnerReferences {
		if o.APIVersion == "batch/v1" && o.Kind == "Job" && o.Name == job.Name && o.UID == job.UID && job.UID != "" {
			return sec, nil
		}
	}
	return nil, fmt.Errorf("its Secret %s is not owned by the run's Job (UID %s): it is not read", name, job.UID)
}

// carryTag is the tag of run's image (from its provenance) if the rerun
// may use it, or "" (the definition's own image) and why not.
func carryTag(ctx context.Context, store *jobdef.Store, def *jobdef.Job, run, image string) (string, string, error) {
	if image == "" {
		return "", fmt.Sprintf("run %s does not record its image: the rerun uses job %s's", run, def.Name), nil
	}
	repo, tag, digest, err := jobdef.SplitImage(image)
	if err != nil {
		return "", fmt.Sprintf("run %s's image %q cannot be read (%v): the rerun uses job %s's", run, image, err, def.Name), nil
	}
	now, err := store.ResolveImage(ctx, def, "")
	if err != nil {
		return "", "", fmt.Errorf("job %s of run %s: %w", def.Name, run, err)
	}
	nowRepo, _, _, err := jobdef.SplitImage(now.Image)
	if err != nil {
		return "", "", fmt.Errorf("job %s of run %s: %w", def.Name, run, err)
	}
	switch {
	case repo != nowRepo:
		return "", fmt.Sprintf("run %s ran %s, but job %s's image is now %s: the rerun uses %s", run, image, def.Name, nowRepo, now.Image), nil
	case digest != "":
		if now.Image != image {
			return "", fmt.Sprintf("run %s was pinned to %s; job %s now runs %s: the rerun uses it", run, digest, def.Name, now.Image), nil
		}
		return "", "", nil
	case tag == "":
		return "", "", nil
	case def.Spec.Digest != "" && !def.Spec.AllowTagOverride:
		return "", fmt.Sprintf("run %s ran tag %s, but job %s is now pinned to %s: the rerun uses it", run, tag, def.Name, def.Spec.Digest), nil
	}
	return tag, "", nil
}
