package run

import (
	"context"
	"fmt"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// prepare is the first half of a trigger: every read and check, nothing
// written. It reads and checks the definition, the parameters, the tag and
// the tasks, resolves the image, looks up the idempotency key (an existing
// run comes back as an *existingRunError with the plan) and, for a run
// with Secrets to write, refuses a release of another chart.
func (t *Triggerer) prepare(ctx context.Context, req Request) (*Plan, error) {
	store := &jobdef.Store{Client: t.Client, Namespace: req.Namespace}
	def, err := store.Get(ctx, req.Job)
	if req.Confirm != nil {
		uid, cerr := req.Confirm()
		if cerr != nil {
			return nil, cerr
		}
		req.JobUID = uid
	}
	if err != nil {
		return nil, err
	}
	if req.JobUID != "" && def.UID != req.JobUID {
		return nil, &ReplacedError{Job: req.Job, Known: req.JobUID, Now: def.UID}
	}
	if err := def.CheckStored(); err != nil {
		return nil, err
	}
	params, tasks, err := checkInput(def, req)
	if err != nil {
		return nil, &InputError{Err: err}
	}
	img, err := store.ResolveImage(ctx, def, req.Tag)
	if err != nil {
		return nil, err
	}
	p, err := newPlan(def, req, img, params, tasks)
	if err != nil {
		return nil, err
	}
	if p.keyed != nil {
		// A retry finds its run at once, without touching the release; two
		// triggers racing with one key are decided under the release.
		if err := findKeyed(ctx, t.Client, req.Namespace, def.Name, p.keyed.key, p.keyed.params, p.keyed.secrets, p.Image, ""); err != nil {
			return p, err
		}
	}
	return p, nil
}

// checkInput checks the caller's input against def: the parameters (merged
// with the defaults), the tag, the run's size and the tasks.
func checkInput(def *jobdef.Job, req Request) (map[string]string, int32, error) {
	params, err := mergeParams(def, req.Params)
	if err != nil {
		return nil, 0, err
	}
	if err := checkTag(def, req.Tag); err != nil {
		return nil, 0, err
	}
	if err := def.Spec.CheckRunSize(params); err != nil {
		return nil, 0, err
	}
	if req.IdempotencyKey != "" {
		if err := ValidateIdempotencyKey(req.IdempotencyKey); err != nil {
			return nil, 0, err
		}
	}
	tasks := def.Spec.Tasks
	if req.Tasks != 0 {
		if req.Tasks < 1 || req.Tasks > jobdef.MaxTasks {
			return nil, 0, fmt.Errorf("invalid tasks %d: must be between 1 and %d", req.Tasks, jobdef.MaxTasks)
		}
		if err := jobdef.CheckTaskPods(req.Tasks, def.Spec.Parallelism); err != nil {
			return nil, 0, err
		}
		tasks = req.Tasks
	}
	return params, tasks, nil
}

// checkTag refuses a per-run tag that is malformed, or that would un-pin a
// job pinned to a digest (unless the job allows it).
func checkTag(def *jobdef.Job, tag string) error {
	if tag == "" {
		return nil
	}
	if err := jobdef.ValidateTag(tag); err != nil {
		return err
	}
	if def.Spec.Digest != "" && !def.Spec.AllowTagOverride {
		return fmt.Errorf("job %s is pinned to digest %s: its runs cannot choose a tag (set allowTagOverride in its definition to allow it)", def.Name, def.Spec.Digest)
	}
	return nil
}

// hasSecretParams reports whether the job has secret parameters.
func hasSecretParams(def *jobdef.Job) bool {
	for _, p := range def.Spec.Parameters {
		if p.Secret {
			return true
		}
	}
	return false
}
