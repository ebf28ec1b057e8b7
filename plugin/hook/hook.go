// Package hook is kubectl-shipjob's deploy hooks, the domain: tokens that
// trigger runs of one job over HTTP, compatible with Shipmight's deploy
// hook API. A hook is a Secret holding only the SHA-256 of its token (see
// Store), bound to its job by UID. The server that serves the API is
// plugin/hookserver; the CLI and the UI use this package only.
package hook

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// Storage: one Secret per hook, named SecretPrefix+id, of type SecretType,
// labelled managed-by, LabelKind=KindHook, LabelHook=id and LabelJob=job,
// owned by the job's Secret (deleting the job deletes its hooks). DataKey
// holds the hex SHA-256 of the token; the name, creator and last use are
// annotations.
const (
	SecretPrefix                          = "shipjob-hook-"
	SecretType          corev1.SecretType = "shipjob.dev/hook"
	DataKey                               = "token-sha256"
	LabelHook                             = jobdef.Group + "/hook"
	KindHook                              = "hook"
	AnnotationName                        = jobdef.Group + "/hook-name"
	AnnotationCreatedBy                   = jobdef.Group + "/created-by"
	AnnotationLastUsed                    = jobdef.Group + "/last-used"
	Kind                                  = "Hook"
	ListKind                              = "HookList"
	MaxNameLength                         = 100
)

// GroupResource names hooks in errors ("hooks.shipjob.dev").
var GroupResource = schema.GroupResource{Group: jobdef.Group, Resource: "hooks"}

// Hook is a deploy hook as `hook list -o yaml` prints it; metadata.name is
// the hook id.
type Hook struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              Spec   `json:"spec"`
	Status            Status `json:"status,omitempty"`
	// Token is set only in the answer to create: it is never stored.
	Token string `json:"token,omitempty"`
}

// Spec is what a hook is for.
type Spec struct {
	// Job is the job the hook triggers (in the hook's namespace).
	Job string `json:"job"`
	// Name describes the hook ("CI on main"); it cannot be changed.
	Name      string `json:"name"`
	CreatedBy string `json:"createdBy,omitempty"`
}

// Status is observed use.
type Status struct {
	// LastUsed is when a valid token was last presented (updated at most
	// about once a minute).
	LastUsed *metav1.Time `json:"lastUsed,omitempty"`
}

// List is a HookList.
type List struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Hook `json:"items"`
}

// SecretName is the Secret of hook id.
func SecretName(id string) string { return SecretPrefix + id }

// NameField is the Field of the *run.InputError that refuses a hook's
// name: a front end names its own input for it.
const NameField = "name"

// ValidateName checks a hook's descriptive name. The Store checks it
// before it writes: front ends show its refusal, a *run.InputError about
// NameField.
func ValidateName(name string) error {
	refuse := func(err error) error { return &run.InputError{Field: NameField, Err: err} }
	if strings.TrimSpace(name) == "" {
		return refuse(errors.New("a hook name is required, e.g. \"CI on main\""))
	}
	if len(name) > MaxNameLength {
		return refuse(fmt.Errorf("hook name must be at most %d characters, got %d", MaxNameLength, len(name)))
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return refuse(fmt.Errorf("hook name %q must be printable text on one line", name))
		}
	}
	return nil
}

// ToSecret is the storage Secret of a new hook of job def.
func ToSecret(def *jobdef.Job, id, token, name, createdBy string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      SecretName(id),
			Namespace: def.Namespace,
			Labels: map[string]string{
				jobdef.LabelManagedBy: jobdef.ManagedBy, jobdef.LabelKind: KindHook, LabelHook: id, jobdef.LabelJob: def.Name,
			},
			Annotations: map[string]string{AnnotationName: name, AnnotationCreatedBy: createdBy},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Secret", Name: jobdef.SecretName(def.Name), UID: def.UID,
			}},
		},
		Type: SecretType,
		Data: map[string][]byte{DataKey: []byte(HashToken(token))},
	}
}

// FromSecret decodes a hook's Secret (without its hash).
func FromSecret(s *corev1.Secret) (*Hook, error) {
	id := s.Labels[LabelHook]
	if s.Type != SecretType || s.Labels[jobdef.LabelKind] != KindHook || s.Name != SecretName(id) {
		return nil, fmt.Errorf("secret %s/%s is not a kubectl-shipjob hook", s.Namespace, s.Name)
	}
	h := &Hook{
		TypeMeta:   metav1.TypeMeta{APIVersion: jobdef.APIVersion, Kind: Kind},
		ObjectMeta: metav1.ObjectMeta{Name: id, Namespace: s.Namespace, UID: s.UID, CreationTimestamp: s.CreationTimestamp},
		Spec: Spec{Job: s.Labels[jobdef.LabelJob], Name: s.Annotations[AnnotationName],
			CreatedBy: s.Annotations[AnnotationCreatedBy]},
	}
	if t, ok := LastUsed(s); ok {
		h.Status.LastUsed = &metav1.Time{Time: t}
	}
	return h, nil
}

// LastUsed is the hook's last use as its Secret records it (the hook server
// writes it, at most once a minute).
func LastUsed(s *corev1.Secret) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, s.Annotations[AnnotationLastUsed])
	return t, err == nil
}

// NewList returns a HookList of hooks.
func NewList(hooks []Hook) *List {
	if hooks == nil {
		hooks = []Hook{}
	}
	return &List{TypeMeta: metav1.TypeMeta{APIVersion: jobdef.APIVersion, Kind: ListKind}, Items: hooks}
}

var (
	_ runtime.Object = &Hook{}
	_ runtime.Object = &List{}
)

// DeepCopyObject implements runtime.Object.
func (h *Hook) DeepCopyObject() runtime.Object {
	if h == nil {
		return nil
	}
	out := *h
	h.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	out.Status.LastUsed = h.Status.LastUsed.DeepCopy()
	return &out
}

// DeepCopyObject implements runtime.Object.
func (l *List) DeepCopyObject() runtime.Object {
	if l == nil {
		return nil
	}
	out := &List{TypeMeta: l.TypeMeta}
	l.ListMeta.DeepCopyInto(&out.ListMeta)
	out.Items = make([]Hook, len(l.Items))
	for i := range l.Items {
		out.Items[i] = *l.Items[i].DeepCopyObject().(*Hook)
	}
	return out
}
