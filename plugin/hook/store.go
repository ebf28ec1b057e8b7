package hook

import (
	"context"
	"fmt"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// Store manages hooks in one namespace ("" = all, for listing only).
type Store struct {
	Client    kubernetes.Interface
	Namespace string
}

// Create stores a new hook of job and returns it with its token, the only
// time the token exists outside the caller. A missing job is NotFound
// (jobs.shipjob.dev).
func (s *Store) Create(ctx context.Context, job, name, createdBy string) (*Hook, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	def, err := (&jobdef.Store{Client: s.Client, Namespace: s.Namespace}).Get(ctx, job)
	if err != nil {
		return nil, err
	}
	secrets := s.Client.CoreV1().Secrets(s.Namespace)
	for attempt := 0; ; attempt++ {
		id, token, err := NewToken()
		if err != nil {
			return nil, err
		}
		out, err := secrets.Create(ctx, ToSecret(def, id, token, name, createdBy), metav1.CreateOptions{FieldManager: jobdef.ManagedBy})
		if apierrors.IsAlreadyExists(err) && attempt < 3 {
			continue // an id taken already: 36^10 ids make this rare
		}
		if err != nil {
			return nil, fmt.Errorf("create hook for job %s: %w", job, err)
		}
		h, err := FromSecret(out)
		if err != nil {
			return nil, err
		}
		h.Token = token
		return h, nil
	}
}

// Get returns hook id, or NotFound (hooks.shipjob.dev).
func (s *Store) Get(ctx context.Context, id string) (*Hook, error) {
	if !ValidID(id) {
		return nil, apierrors.NewNotFound(GroupResource, id)
	}
	sec, err := s.Client.CoreV1().Secrets(s.Namespace).Get(ctx, SecretName(id), metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && sec.Type != SecretType) {
		return nil, apierrors.NewNotFound(GroupResource, id)
	}
	if err != nil {
		return nil, fmt.Errorf("get hook %s: %w", id, err)
	}
	return FromSecret(sec)
}

// List returns the hooks of job ("" = of every job), by namespace, job,
// creation time and id. One API request.
func (s *Store) List(ctx context.Context, job string) ([]Hook, error) {
	sel := jobdef.LabelKind + "=" + KindHook
	if job != "" {
		sel += "," + jobdef.LabelJob + "=" + job
	}
	list, err := s.Client.CoreV1().Secrets(s.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: sel, FieldSelector: "type=" + string(SecretType)})
	if err != nil {
		return nil, fmt.Errorf("list hooks: %w", err)
	}
	hooks := make([]Hook, 0, len(list.Items))
	for i := range list.Items {
		h, err := FromSecret(&list.Items[i])
		if err != nil {
			continue // not ours after all
		}
		hooks = append(hooks, *h)
	}
	sort.Slice(hooks, func(a, b int) bool {
		x, y := hooks[a], hooks[b]
		switch {
		case x.Namespace != y.Namespace:
			return x.Namespace < y.Namespace
		case x.Spec.Job != y.Spec.Job:
			return x.Spec.Job < y.Spec.Job
		case !x.CreationTimestamp.Equal(&y.CreationTimestamp):
			return x.CreationTimestamp.Before(&y.CreationTimestamp)
		}
		return x.Name < y.Name
	})
	return hooks, nil
}

// Delete deletes hook id; servers reject its token as soon as they see
// the deletion (a watch event, well under a second).
func (s *Store) Delete(ctx context.Context, id string) error {
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	err := s.Client.CoreV1().Secrets(s.Namespace).Delete(ctx, SecretName(id), metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return apierrors.NewNotFound(GroupResource, id)
	}
	if err != nil {
		return fmt.Errorf("delete hook %s: %w", id, err)
	}
	return nil
}

// TouchLastUsed records that hook id was used at t (a merge patch of one
// annotation).
func (s *Store) TouchLastUsed(ctx context.Context, id string, t time.Time) error {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, AnnotationLastUsed, t.UTC().Format(time.RFC3339))
	_, err := s.Client.CoreV1().Secrets(s.Namespace).Patch(ctx, SecretName(id), types.MergePatchType, []byte(patch),
		metav1.PatchOptions{FieldManager: jobdef.ManagedBy})
	if err != nil {
		return fmt.Errorf("record last use of hook %s: %w", id, err)
	}
	return nil
}
