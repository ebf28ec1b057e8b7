package jobdef

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// Store reads and writes job definitions in one namespace ("" = all, for
// listing only).
type Store struct {
	Client    kubernetes.Interface
	Namespace string
	// Cached, if set, answers the reads of one Secret (a job's definition,
	// signing secret, registry) from an informer's cache of this
	// namespace's kubectl-shipjob Secrets; what it does not have, or has
	// in a form that fails, is read from the API server (the cache may
	// lag a definition created or fixed a moment ago). Objects it returns
	// are never modified.
	Cached SecretCache
}

// SecretCache is the Get of a namespace's Secret lister.
type SecretCache interface {
	Get(name string) (*corev1.Secret, error)
}

// secret reads Secret name: from the cache if it has one that ok accepts,
// else from the API server.
func (s *Store) secret(ctx context.Context, name string, ok func(*corev1.Secret) bool) (*corev1.Secret, error) {
	if s.Cached != nil {
		if sec, err := s.Cached.Get(name); err == nil && ok(sec) {
			return sec, nil
		}
	}
	return s.Client.CoreV1().Secrets(s.Namespace).Get(ctx, name, metav1.GetOptions{})
}

// Get returns the job, or a NotFound error naming jobs.shipjob.dev.
func (s *Store) Get(ctx context.Context, name string) (*Job, error) {
	if s.Cached != nil {
		// What fails here is read again from the API server (the cache
		// may lag a fix), and fails there if it still does.
		if sec, err := s.Cached.Get(SecretName(name)); err == nil {
			if j, err := FromSecret(sec); err == nil && j.CheckStored() == nil {
				return j, nil
			}
		}
	}
	sec, err := s.Client.CoreV1().Secrets(s.Namespace).Get(ctx, SecretName(name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(GroupResource, name)
	}
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", name, err)
	}
	return FromSecret(sec)
}

// GetValid returns the job if it passes validation, the same as create and
// apply: a definition read from the cluster is input like any other (its
// Secret may have been edited by hand). Otherwise an *InvalidError.
func (s *Store) GetValid(ctx context.Context, name string) (*Job, error) {
	j, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := j.CheckStored(); err != nil {
		return nil, err
	}
	return j, nil
}

// List returns the jobs matching selector (label syntax over the job's own
// labels), sorted by namespace and name. One API request.
func (s *Store) List(ctx context.Context, selector string) ([]Job, error) {
	return s.ListSome(ctx, selector, nil)
}

// ListSome is List decoding only the jobs pick keeps: pick gets the names
// of every job listed (in List's order: by namespace, then name) and
// returns the indexes of those to decode, in the order wanted (pick nil:
// all). A page of a namespace of 10,000 jobs decodes its page only
// (issue 23: decoding and checking every definition was most of the Jobs
// page's time).
func (s *Store) ListSome(ctx context.Context, selector string, pick func(names []string) []int) ([]Job, error) {
	sel, err := labels.Parse(selector)
	if err != nil {
		return nil, fmt.Errorf("invalid label selector %q: %w", selector, err)
	}
	req, err := labels.NewRequirement(LabelKind, "=", []string{KindJob})
	if err != nil {
		return nil, err
	}
	sel = sel.Add(*req)
	list, err := s.Client.CoreV1().Secrets(s.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: sel.String(),
		FieldSelector: "type=" + string(SecretType),
	})
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	// A job's name is its Secret's name without the prefix (FromSecret).
	items := list.Items
	names := make([]string, len(items))
	for i := range items {
		names[i] = strings.TrimPrefix(items[i].Name, SecretPrefix)
	}
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		x, y := order[a], order[b]
		if items[x].Namespace != items[y].Namespace {
			return items[x].Namespace < items[y].Namespace
		}
		return names[x] < names[y]
	})
	sorted := make([]string, len(order))
	for i, o := range order {
		sorted[i] = names[o]
	}
	idx := order
	if pick != nil {
		picked := pick(sorted)
		idx = make([]int, len(picked))
		for k, i := range picked {
			if i < 0 || i >= len(order) {
				return nil, fmt.Errorf("list jobs: picked job %d of %d", i, len(order))
			}
			idx[k] = order[i]
		}
	}
	jobs := make([]Job, 0, len(idx))
	for _, i := range idx {
		j, err := FromSecret(&items[i])
		var invalid *InvalidError
		switch {
		case errors.As(err, &invalid):
			// Listed all the same, marked: its owner has to see it to fix it.
			sec := &items[i]
			j = &Job{TypeMeta: metav1.TypeMeta{APIVersion: APIVersion, Kind: Kind}, ObjectMeta: metav1.ObjectMeta{
				Name: invalid.Name, Namespace: sec.Namespace, UID: sec.UID, ResourceVersion: sec.ResourceVersion,
				CreationTimestamp: sec.CreationTimestamp}}
			j.Status = &Status{Invalid: invalid.Error()}
		case err != nil:
			return nil, err
		default:
			if err := j.CheckStored(); err != nil {
				j.Status = &Status{Invalid: err.Error()}
			}
		}
		jobs = append(jobs, *j)
	}
	return jobs, nil
}

// WriteOptions apply to Create, Update and Delete.
type WriteOptions struct {
	// DryRun is passed to the API server ("All" validates and writes nothing).
	DryRun []string
	// FieldManager names the writer.
	FieldManager string
}

// Create stores a new job; an existing one is AlreadyExists.
func (s *Store) Create(ctx context.Context, j *Job, opts WriteOptions) (*Job, error) {
	sec, err := ToSecret(j)
	if err != nil {
		return nil, err
	}
	sec.ResourceVersion = ""
	out, err := s.Client.CoreV1().Secrets(s.Namespace).Create(ctx, sec, metav1.CreateOptions{DryRun: opts.DryRun, FieldManager: opts.FieldManager})
	if apierrors.IsAlreadyExists(err) {
		return nil, apierrors.NewAlreadyExists(GroupResource, j.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("create job %s: %w", j.Name, err)
	}
	return FromSecret(out)
}

// ErrConflict is returned (wrapped) when a job changed since it was read.
var ErrConflict = errors.New("the job was changed by someone else since it was read")

// Update replaces the stored job. j.ResourceVersion must be the version it
// was read at: a concurrent change fails with ErrConflict, never silently
// overwritten.
func (s *Store) Update(ctx context.Context, j *Job, opts WriteOptions) (*Job, error) {
	if j.ResourceVersion == "" {
		return nil, fmt.Errorf("update job %s: no resourceVersion to guard against concurrent changes", j.Name)
	}
	sec, err := ToSecret(j)
	if err != nil {
		return nil, err
	}
	out, err := s.Client.CoreV1().Secrets(s.Namespace).Update(ctx, sec, metav1.UpdateOptions{DryRun: opts.DryRun, FieldManager: opts.FieldManager})
	switch {
	case apierrors.IsNotFound(err):
		return nil, apierrors.NewNotFound(GroupResource, j.Name)
	case apierrors.IsConflict(err):
		return nil, fmt.Errorf("update job %s: %w", j.Name, ErrConflict)
	case err != nil:
		return nil, fmt.Errorf("update job %s: %w", j.Name, err)
	}
	return FromSecret(out)
}

// Delete removes the job's definition (not its runs or release).
func (s *Store) Delete(ctx context.Context, name string, opts WriteOptions) error {
	err := s.Client.CoreV1().Secrets(s.Namespace).Delete(ctx, SecretName(name), metav1.DeleteOptions{DryRun: opts.DryRun})
	if apierrors.IsNotFound(err) {
		return apierrors.NewNotFound(GroupResource, name)
	}
	if err != nil {
		return fmt.Errorf("delete job %s: %w", name, err)
	}
	return nil
}
