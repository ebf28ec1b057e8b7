package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// Idempotency keys: a trigger with the key of a run of the same job that
// still exists returns that run instead of starting another (CI retrying a
// call that timed out). The key is recorded on the run (annotation) and a
// hash of it labels the run's Job (label values cannot hold ':').
const (
	AnnotationIdempotencyKey = "shipjob.dev/idempotency-key"
	LabelIdempotency         = "shipjob.dev/idempotency"
)

var idempotencyKeyPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// ValidateIdempotencyKey checks a key: 1 to 64 of A-Z a-z 0-9 . _ : -
func ValidateIdempotencyKey(key string) error {
	if !idempotencyKeyPattern.MatchString(key) {
		return fmt.Errorf("invalid idempotency key %q: use 1 to 64 letters, digits, '.', '_', ':' or '-'", key)
	}
	return nil
}

func idempotencyLabel(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])[:40]
}

// existingRunError says a run made with the trigger's idempotency key
// exists already, with the same parameters and image: the trigger's
// answer is that run (Trigger turns it into a Result with Unchanged).
type existingRunError struct {
	Run string
	// Manifest is the run's Job as YAML.
	Manifest string
}

func (e *existingRunError) Error() string {
	return "run " + e.Run + " was made with this idempotency key"
}

// findKeyed looks for a run of job made with key. It returns nil when there
// is none, an *existingRunError when there is one with the same parameters
// and image, a *ConflictError when the parameters or image differ. params
// are as recorded (Shown: secret ones masked); secrets are the secret
// parameters' values (secretValues), compared with the run's
// AnnotationSecretDigest. rv, if set, lists runs not older than it (see
// readRuns).
func findKeyed(ctx context.Context, client kubernetes.Interface, ns, job, key string, params, secrets map[string]string, image, rv string) error {
	opts := metav1.ListOptions{LabelSelector: Selector(job) + "," + LabelIdempotency + "=" + idempotencyLabel(key)}
	if rv != "" {
		opts.ResourceVersion, opts.ResourceVersionMatch = rv, metav1.ResourceVersionMatchNotOlderThan
	} else {
		opts.ResourceVersion = "0" // the watch cache: the check under the release repeats it
	}
	list, err := client.BatchV1().Jobs(ns).List(ctx, opts)
	if err != nil {
		return fmt.Errorf("look up idempotency key of job %s: %w", job, err)
	}
	for _, j := range list.Items {
		if j.Annotations[AnnotationIdempotencyKey] != key || j.DeletionTimestamp != nil {
			continue
		}
		var had map[string]string
		_ = json.Unmarshal([]byte(j.Annotations[AnnotationParameters]), &had)
		if j.Annotations[AnnotationImage] != image || !maps.Equal(had, params) ||
			!secretDigestMatches(j.Annotations[AnnotationSecretDigest], secrets) {
			return &ConflictError{Job: job, Active: []string{j.Name}, Reason: fmt.Sprintf(
				"idempotency key %q was used by run %s with other parameters or image tag", key, j.Name)}
		}
		j.APIVersion, j.Kind, j.ManagedFields = "batch/v1", "Job", nil
		manifest, _ := yaml.Marshal(&j)
		return &existingRunError{Run: j.Name, Manifest: string(manifest)}
	}
	return nil
}
