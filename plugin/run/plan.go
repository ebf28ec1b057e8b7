package run

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// Plan is one run as a trigger decided it, before anything is written: the
// one shape of a run. The Releaser renders it (the run chart's values are
// made from it) and checks what was rendered against it (CheckManifest).
type Plan struct {
	// Def is the job's definition, as stored and checked (CheckStored).
	Def *jobdef.Job
	// Run is the run's name (its Job's), given once the trigger holds the
	// job in this process, so names sort by trigger time.
	Run         string
	Image       string
	PullSecrets []string
	// Params are the run's parameter values, secret ones in clear: the
	// chart takes those from ParamsSecret (key SecretParamKey), never from
	// a value.
	Params map[string]string
	Tasks  int32
	// Annotations go on the run's Job.
	Annotations map[string]string
	// IdempotencyLabel labels the Job with the hash of its idempotency key
	// ("": none).
	IdempotencyLabel string
	// TTL is the retention the post-renderer gives the Job (nil: none).
	TTL *time.Duration
	// Files is the job's shared files Secret, ParamsSecret the run's own
	// Secret of its secret parameter values (nil: none).
	Files, ParamsSecret *corev1.Secret

	// perMinute is the job's maxRunsPerMinute (0: no limit): NextRate.
	perMinute int
	// keyed is what the idempotency key is checked against (nil: no key).
	keyed *keyedRun
	// prefetched is the Releaser's read of the release begun with the
	// trigger (Prefetcher), for its Upgrade.
	prefetched any
	// shown are the parameters as recorded (secret ones masked).
	shown map[string]string
}

// newPlan is the plan of a run of def, all but its name (stamp).
func newPlan(def *jobdef.Job, req Request, img jobdef.ResolvedImage, params map[string]string, tasks int32) (*Plan, error) {
	p := &Plan{Def: def, Image: img.Image, PullSecrets: img.PullSecrets, Params: params, Tasks: tasks,
		perMinute: def.Spec.RunsPerMinute(), shown: shownParams(def, params), Files: filesSecret(def)}
	// The outcome is not known yet: the longer retention holds until the
	// hook server (if one runs) shortens it by the outcome.
	ttl, keep, err := def.Spec.LongestRetention()
	if err != nil {
		return nil, err
	}
	if keep {
		p.TTL = &ttl
	}
	var paramJSON bytes.Buffer
	enc := json.NewEncoder(&paramJSON)
	enc.SetEscapeHTML(false) // "<secret>" reads as it is
	if err := enc.Encode(p.shown); err != nil {
		return nil, fmt.Errorf("encode parameters: %w", err)
	}
	p.Annotations = map[string]string{
		AnnotationTriggeredBy: req.TriggeredBy,
		AnnotationParameters:  strings.TrimSuffix(paramJSON.String(), "\n"),
		AnnotationImage:       img.Image,
		AnnotationJobUID:      string(def.UID),
	}
	if def.Spec.Timeout != jobdef.None {
		p.Annotations[AnnotationTimeout] = def.Spec.Timeout
	}
	// An idempotency retry with other secret values is a conflict.
	secrets := secretValues(def, params)
	digest, err := secretDigest(secrets)
	if err != nil {
		return nil, err
	}
	if digest != "" {
		p.Annotations[AnnotationSecretDigest] = digest
	}
	if req.IdempotencyKey != "" {
		// The key itself in an annotation, its hash as a label (to find it by).
		p.Annotations[AnnotationIdempotencyKey] = req.IdempotencyKey
		p.IdempotencyLabel = idempotencyLabel(req.IdempotencyKey)
		p.keyed = &keyedRun{key: req.IdempotencyKey, image: img.Image, params: p.shown, secrets: secrets}
	}
	if req.RerunOf != "" {
		p.Annotations[AnnotationRerunOf] = req.RerunOf
	}
	return p, nil
}

// stamp names the run, triggered at now.
func (p *Plan) stamp(now time.Time) {
	p.Run = newName(p.Def.Name, now)
	p.Annotations[AnnotationTriggeredAt] = now.UTC().Format(time.RFC3339Nano)
	p.ParamsSecret = paramsSecret(p.Def, p.Run, p.Params)
}

// result is the trigger's answer for the plan.
func (p *Plan) result() *Result {
	return &Result{Run: p.Run, Namespace: p.Def.Namespace, Job: p.Def.Name, Image: p.Image, Parameters: p.shown}
}

// want is what the rendered Job must match.
func (p *Plan) want() JobWant {
	w := JobWant{Namespace: p.Def.Namespace, Run: p.Run, Image: p.Image, ServiceAccount: p.Def.Spec.ServiceAccountName,
		PullSecrets: p.PullSecrets, EnvFromSecrets: p.Def.Spec.EnvFromSecrets}
	if p.Files != nil {
		w.FilesSecret = p.Files.Name
	}
	if p.ParamsSecret != nil {
		w.ParamsSecret = p.ParamsSecret.Name
	}
	return w
}

// CheckManifest checks a rendered, post-rendered manifest against the plan
// (the last defence before anything is applied, see CheckJob): every
// document decodes strictly (an unknown field is an error), and there is
// exactly one, a batch/v1 Job that CheckJob accepts.
func (p *Plan) CheckManifest(manifest []byte) error { return checkManifest(manifest, p.want()) }

func checkManifest(manifest []byte, want JobWant) error {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifest)))
	jobs := 0
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read manifest: %w", err)
		}
		if isBlankDocument(doc) {
			continue
		}
		var job batchv1.Job
		if err := yaml.UnmarshalStrict(doc, &job); err != nil {
			return fmt.Errorf("decode rendered object: %w", err)
		}
		if job.APIVersion != "batch/v1" || job.Kind != "Job" {
			return fmt.Errorf("rendered a %s %s: the run chart renders only a batch/v1 Job", job.APIVersion, job.Kind)
		}
		if err := CheckJob(&job, want); err != nil {
			return fmt.Errorf("job %s: %w", job.Name, err)
		}
		jobs++
	}
	if jobs != 1 {
		return fmt.Errorf("rendered %d Jobs, want exactly 1", jobs)
	}
	return nil
}

func isBlankDocument(doc []byte) bool {
	for line := range strings.SplitSeq(string(doc), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") && l != "---" {
			return false
		}
	}
	return true
}
