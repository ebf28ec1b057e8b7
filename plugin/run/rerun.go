package run

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
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
	if err := revealSecrets(ctx, client, job, req.Params, params); err != nil {
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
// jobdef.SecretValue) with the run's values, from the Secret its container
// reads them from (the run's own). given (the overrides) are the caller's.
func revealSecrets(ctx context.Context, client kubernetes.Interface, job *batchv1.Job, params, given map[string]string) error {
	var sec *corev1.Secret
	var env []corev1.EnvVar
	if cs := job.Spec.Template.Spec.Containers; len(cs) > 0 {
		env = cs[0].Env
	}
	for _, e := range env {
		_, over := given[e.Name]
		if over || params[e.Name] != jobdef.SecretValue || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			continue // a value of its own (also the text "<secret>")
		}
		ref := e.ValueFrom.SecretKeyRef
		if sec == nil || sec.Name != ref.Name {
			var err error
			if sec, err = client.CoreV1().Secrets(job.Namespace).Get(ctx, ref.Name, metav1.GetOptions{}); err != nil {
				return &SecretParamError{Run: job.Name, Param: e.Name, Err: fmt.Errorf("read its Secret: %w", err)}
			}
		}
		v, ok := sec.Data[ref.Key]
		if !ok {
			return &SecretParamError{Run: job.Name, Param: e.Name, Err: fmt.Errorf("not in its Secret %s", ref.Name)}
		}
		params[e.Name] = string(v)
	}
	return nil
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
