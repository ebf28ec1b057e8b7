package hook

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// Entry is an authenticated hook.
type Entry struct {
	ID, Namespace, Job, Name string
	// LastUsed is the last use recorded in the API server (zero if never).
	LastUsed time.Time
}

// TriggeredBy is the provenance recorded on the runs the hook triggers.
func (e Entry) TriggeredBy() string { return "hook:" + e.Name + " (" + e.ID + ")" }

// Index is a server's view of the hooks: an informer (list + watch) on hook
// Secrets, indexed by hook id. A deleted hook leaves it with the watch
// event, typically within milliseconds; only the API server holds state.
type Index struct {
	informer cache.SharedIndexInformer
	started  atomic.Bool
	done     chan struct{}
}

const byID = "hook-id"

// dummyHash is compared against when no hook has the token's id, so
// unknown and wrong tokens cost the same work.
var dummyHash = strings.Repeat("0", 64)

// NewIndex watches the hooks of namespace ("" = all). onDelete is called
// with every deleted hook (may be nil).
func NewIndex(client kubernetes.Interface, namespace string, onDelete func(namespace, id string)) *Index {
	// The Secret informer alone (not a SharedInformerFactory, which links
	// informers for every API group: +9 MB of binary).
	inf := coreinformers.NewFilteredSecretInformer(client, namespace, 0, cache.Indexers{},
		func(o *metav1.ListOptions) {
			o.LabelSelector = jobdef.LabelKind + "=" + KindHook
			o.FieldSelector = "type=" + string(SecretType)
		})
	_ = inf.SetTransform(func(obj any) (any, error) {
		if s, ok := obj.(*corev1.Secret); ok {
			s.ManagedFields = nil
		}
		return obj, nil
	})
	_ = inf.AddIndexers(cache.Indexers{byID: func(obj any) ([]string, error) {
		if s, ok := obj.(*corev1.Secret); ok {
			return []string{s.Labels[LabelHook]}, nil
		}
		return nil, nil
	}})
	if onDelete != nil {
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if s, ok := obj.(*corev1.Secret); ok {
				onDelete(s.Namespace, s.Labels[LabelHook])
			}
		}})
	}
	return &Index{informer: inf, done: make(chan struct{})}
}

// Start runs the informer until ctx ends.
func (x *Index) Start(ctx context.Context) {
	x.started.Store(true)
	go func() {
		defer close(x.done)
		x.informer.Run(ctx.Done())
	}()
}

// WaitForSync blocks until the first list is in the cache or ctx ends.
func (x *Index) WaitForSync(ctx context.Context) bool {
	return cache.WaitForCacheSync(ctx.Done(), x.informer.HasSynced)
}

// Synced reports whether the cache holds the first list.
func (x *Index) Synced() bool { return x.informer.HasSynced() }

// Shutdown waits for the informer to stop (after ctx of Start ended).
func (x *Index) Shutdown() {
	if x.started.Load() {
		<-x.done
	}
}

// Len is the number of hooks in the cache.
func (x *Index) Len() int { return len(x.informer.GetStore().ListKeys()) }

// Authenticate returns the hook whose token this is. Unknown ids, wrong
// secrets and deleted hooks are all just false, after the same work: one
// SHA-256 and one constant-time comparison per candidate.
func (x *Index) Authenticate(token string) (Entry, bool) {
	if len(token) > 4*MaxTokenLength {
		token = token[:4*MaxTokenLength]
	}
	var cands []any
	if id, ok := ParseToken(token); ok {
		cands, _ = x.informer.GetIndexer().ByIndex(byID, id)
	}
	var found Entry
	matched := false
	for _, obj := range cands {
		s, ok := obj.(*corev1.Secret)
		if !ok || s.DeletionTimestamp != nil || s.Type != SecretType {
			continue
		}
		if Verify(token, string(s.Data[DataKey])) && !matched {
			found, matched = entryOf(s), true
		}
	}
	if len(cands) == 0 {
		Verify(token, dummyHash)
	}
	return found, matched
}

// Lookup returns the cached hook id of namespace.
func (x *Index) Lookup(namespace, id string) (Entry, bool) {
	obj, ok, err := x.informer.GetStore().GetByKey(namespace + "/" + SecretName(id))
	if err != nil || !ok {
		return Entry{}, false
	}
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return Entry{}, false
	}
	return entryOf(s), true
}

func entryOf(s *corev1.Secret) Entry {
	e := Entry{ID: s.Labels[LabelHook], Namespace: s.Namespace, Job: s.Labels[jobdef.LabelJob], Name: s.Annotations[AnnotationName]}
	if t, ok := lastUsed(s); ok {
		e.LastUsed = t
	}
	return e
}
