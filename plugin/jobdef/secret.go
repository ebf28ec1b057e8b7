package jobdef

import (
	"encoding/json"
	"fmt"
	"strings"

	kjson "sigs.k8s.io/json"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Storage format (version 1), documented in docs/storage.md: one Secret per
// job, named SecretPrefix+name, of type SecretType, with labels LabelManagedBy,
// LabelKind=KindJob, LabelJob=name plus the job's own labels, and one data
// key DataKey holding the JSON of {apiVersion, kind, spec}. Helm's release
// Secrets (owner=helm, type helm.sh/release.v1) never match these labels.
const (
	SecretPrefix                       = "shipjob-job-"
	SecretType       corev1.SecretType = "shipjob.dev/job"
	DataKey                            = "job.json"
	FormatVersion                      = "1"
	AnnotationFormat                   = Group + "/format"
	LabelManagedBy                     = "app.kubernetes.io/managed-by"
	ManagedBy                          = "kubectl-shipjob"
	LabelKind                          = Group + "/kind"
	LabelJob                           = Group + "/job"
	KindJob                            = "job"
	// MaxSecretBytes is what a job may take in its Secret (the API server
	// limits a Secret to 1 MiB; we leave room for metadata).
	MaxSecretBytes = 1<<20 - 16<<10
)

// SecretName is the name of the Secret that stores job name.
func SecretName(name string) string { return SecretPrefix + name }

// stored is what DataKey holds.
type stored struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       Spec   `json:"spec"`
}

// ToSecret encodes j as its storage Secret. It fails when the definition
// does not fit in a Secret.
func ToSecret(j *Job) (*corev1.Secret, error) {
	data, err := json.Marshal(stored{APIVersion: APIVersion, Kind: Kind, Spec: j.Spec})
	if err != nil {
		return nil, fmt.Errorf("encode job %s: %w", j.Name, err)
	}
	if len(data) > MaxSecretBytes {
		return nil, fmt.Errorf("job %s is too large to store: %d KiB with its files, the limit is %d KiB", j.Name, len(data)>>10, MaxSecretBytes>>10)
	}
	labels := map[string]string{}
	for k, v := range j.Labels {
		labels[k] = v
	}
	labels[LabelManagedBy] = ManagedBy
	labels[LabelKind] = KindJob
	labels[LabelJob] = j.Name
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:            SecretName(j.Name),
			Namespace:       j.Namespace,
			Labels:          labels,
			Annotations:     map[string]string{AnnotationFormat: FormatVersion},
			ResourceVersion: j.ResourceVersion,
		},
		Type: SecretType,
		Data: map[string][]byte{DataKey: data},
	}, nil
}

// FromSecret decodes a storage Secret.
func FromSecret(s *corev1.Secret) (*Job, error) {
	if s.Type != SecretType || s.Labels[LabelKind] != KindJob {
		return nil, fmt.Errorf("secret %s/%s is not a kubectl-shipjob job", s.Namespace, s.Name)
	}
	if v := s.Annotations[AnnotationFormat]; v != FormatVersion {
		return nil, fmt.Errorf("secret %s/%s has storage format %q; this kubectl-shipjob reads format %q (upgrade the plugin)", s.Namespace, s.Name, v, FormatVersion)
	}
	// A job's name is its Secret's name; the label only says it again (for
	// selectors). One that disagrees (edited by hand) would make a Get of
	// one job return another one, whose release and hooks it would drive.
	name := strings.TrimPrefix(s.Name, SecretPrefix)
	if label := s.Labels[LabelJob]; label != name {
		return nil, &InvalidError{Namespace: s.Namespace, Name: name, Err: fieldErr("metadata.labels["+LabelJob+"]",
			fmt.Errorf("label %s=%q of secret %s differs from the job's name %q", LabelJob, label, s.Name, name))}
	}
	// Strict and case-sensitive like apply: a field this plugin does not
	// know (written by hand, or by a newer plugin) must not be dropped
	// silently, it may be a rule the run has to follow.
	var st stored
	strictErrs, err := kjson.UnmarshalStrict(s.Data[DataKey], &st, kjson.DisallowUnknownFields, kjson.DisallowDuplicateFields)
	if err == nil && len(strictErrs) > 0 {
		err = strictErrs[0]
	}
	if err != nil {
		return nil, &InvalidError{Namespace: s.Namespace, Name: name, Err: fmt.Errorf("cannot decode the definition in secret %s: %w", s.Name, err)}
	}
	var labels map[string]string
	for k, v := range s.Labels {
		if k == LabelManagedBy || strings.HasPrefix(k, ReservedLabelPrefix) {
			continue
		}
		if labels == nil {
			labels = map[string]string{}
		}
		labels[k] = v
	}
	return &Job{
		TypeMeta: metav1.TypeMeta{APIVersion: APIVersion, Kind: Kind},
		ObjectMeta: metav1.ObjectMeta{
			Name:              name,
			Namespace:         s.Namespace,
			Labels:            labels,
			UID:               s.UID,
			ResourceVersion:   s.ResourceVersion,
			CreationTimestamp: s.CreationTimestamp,
		},
		Spec: st.Spec,
	}, nil
}
