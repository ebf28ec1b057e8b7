package hookserver

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// Entry is an authenticated hook.
type Entry struct {
	ID, Namespace, Job, Name string
	// JobUID is the UID of the job definition Secret that owns the hook
	// (empty if the hook Secret has no such owner).
	JobUID types.UID
	// LastUsed is the last use recorded in the API server (zero if never).
	LastUsed time.Time
}

// TriggeredBy is the provenance recorded on the runs the hook triggers.
func (e Entry) TriggeredBy() string { return "hook:" + e.Name + " (" + e.ID + ")" }

// Index is a server's view of the hooks: one informer (list + watch) on the
// hook Secrets of each served namespace, keyed by namespace and hook id. A
// deleted hook leaves it with the watch event, typically within
// milliseconds; only the API server holds state.
type Index struct {
	// informers by namespace ("" when every namespace is served), and
	// the namespaces sorted.
	informers  map[string]cache.SharedIndexInformer
	namespaces []string
	started    atomic.Bool
	done       chan struct{}
}

const byID = "hook-id"

// dummyHash is compared against when no hook has the token's id, so
// unknown and wrong tokens cost the same work.
var dummyHash = strings.Repeat("0", 64)

// NewIndex watches the hooks of namespace: one namespace, a comma-separated
// list of namespaces, or "" for every namespace. onDelete is called with
// every deleted hook (may be nil).
func NewIndex(client kubernetes.Interface, namespace string, onDelete func(namespace, id string)) *Index {
	return NewNamespacesIndex(client, strings.Split(namespace, ","), onDelete)
}

// NewNamespacesIndex watches the hooks of the given namespaces, with one
// informer each. An empty list, or one holding metav1.NamespaceAll (""),
// watches every namespace with a single informer. onDelete is called with
// every deleted hook (may be nil).
func NewNamespacesIndex(client kubernetes.Interface, namespaces []string, onDelete func(namespace, id string)) *Index {
	namespaces = ServedNamespaces(namespaces)
	x := &Index{informers: make(map[string]cache.SharedIndexInformer, len(namespaces)), namespaces: namespaces,
		done: make(chan struct{})}
	for _, ns := range namespaces {
		x.informers[ns] = newHookInformer(client, ns, onDelete)
	}
	return x
}

// ServedNamespaces is the sorted, de-duplicated list namespaces stands for;
// [""] (every namespace) when it is empty or holds "".
func ServedNamespaces(namespaces []string) []string {
	var out []string
	for _, ns := range namespaces {
		ns = strings.TrimSpace(ns)
		if ns == metav1.NamespaceAll {
			return []string{metav1.NamespaceAll}
		}
		out = append(out, ns)
	}
	if len(out) == 0 {
		return []string{metav1.NamespaceAll}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func newHookInformer(client kubernetes.Interface, namespace string, onDelete func(namespace, id string)) cache.SharedIndexInformer {
	// The Secret informer alone (not a SharedInformerFactory, which links
	// informers for every API group: +9 MB of binary).
	inf := coreinformers.NewFilteredSecretInformer(client, namespace, 0, cache.Indexers{},
		func(o *metav1.ListOptions) {
			o.LabelSelector = jobdef.LabelKind + "=" + hook.KindHook
			o.FieldSelector = "type=" + string(hook.SecretType)
		})
	_ = inf.SetTransform(func(obj any) (any, error) {
		if s, ok := obj.(*corev1.Secret); ok {
			s.ManagedFields = nil
		}
		return obj, nil
	})
	_ = inf.AddIndexers(cache.Indexers{byID: func(obj any) ([]string, error) {
		// Only a Secret named for its id is that hook: the index key is
		// namespace and id, as for Lookup and hook delete.
		if s, ok := obj.(*corev1.Secret); ok && s.Name == hook.SecretName(s.Labels[hook.LabelHook]) {
			return []string{s.Labels[hook.LabelHook]}, nil
		}
		return nil, nil
	}})
	if onDelete != nil {
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if s, ok := obj.(*corev1.Secret); ok {
				onDelete(s.Namespace, s.Labels[hook.LabelHook])
			}
		}})
	}
	return inf
}

// Namespaces are the served namespaces, sorted ([""] for every namespace).
func (x *Index) Namespaces() []string { return slices.Clone(x.namespaces) }

// Start runs the informers until ctx ends.
func (x *Index) Start(ctx context.Context) {
	x.started.Store(true)
	stopped := make(chan struct{}, len(x.informers))
	for _, inf := range x.informers {
		go func() {
			defer func() { stopped <- struct{}{} }()
			inf.Run(ctx.Done())
		}()
	}
	go func() {
		defer close(x.done)
		for range x.informers {
			<-stopped
		}
	}()
}

// WaitForSync blocks until the first list of every namespace is in the
// cache or ctx ends.
func (x *Index) WaitForSync(ctx context.Context) bool {
	return cache.WaitForCacheSync(ctx.Done(), x.hasSynced)
}

// Synced reports whether the cache holds the first list of every namespace.
func (x *Index) Synced() bool { return x.hasSynced() }

func (x *Index) hasSynced() bool {
	for _, inf := range x.informers {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}

// Shutdown waits for the informers to stop (after ctx of Start ended).
func (x *Index) Shutdown() {
	if x.started.Load() {
		<-x.done
	}
}

// Len is the number of hooks in the cache.
func (x *Index) Len() int {
	n := 0
	for _, inf := range x.informers {
		n += len(inf.GetStore().ListKeys())
	}
	return n
}

// Authenticate returns the hook whose token this is. Unknown ids, wrong
// secrets and deleted hooks are all just false, after the same work: one
// SHA-256 and one constant-time comparison per candidate. It fails closed:
// when the token matches hooks in more than one namespace (a copied hook
// Secret), it matches none, rather than an arbitrary one.
func (x *Index) Authenticate(token string) (Entry, bool) {
	if len(token) > 4*hook.MaxTokenLength {
		token = token[:4*hook.MaxTokenLength]
	}
	var cands []any
	if id, ok := hook.ParseToken(token); ok {
		for _, ns := range x.namespaces {
			objs, _ := x.informers[ns].GetIndexer().ByIndex(byID, id)
			cands = append(cands, objs...)
		}
	}
	var found Entry
	matches := 0
	for _, obj := range cands {
		s, ok := obj.(*corev1.Secret)
		if !ok || s.DeletionTimestamp != nil || s.Type != hook.SecretType {
			continue
		}
		if hook.Verify(token, string(s.Data[hook.DataKey])) {
			if matches++; matches == 1 {
				found = entryOf(s)
			}
		}
	}
	if len(cands) == 0 {
		hook.Verify(token, dummyHash)
	}
	if matches != 1 {
		return Entry{}, false
	}
	return found, true
}

// Lookup returns the cached hook id of namespace.
func (x *Index) Lookup(namespace, id string) (Entry, bool) {
	inf, ok := x.informers[namespace]
	if !ok {
		if inf, ok = x.informers[metav1.NamespaceAll]; !ok {
			return Entry{}, false
		}
	}
	obj, ok, err := inf.GetStore().GetByKey(namespace + "/" + hook.SecretName(id))
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
	e := Entry{ID: s.Labels[hook.LabelHook], Namespace: s.Namespace, Job: s.Labels[jobdef.LabelJob], Name: s.Annotations[hook.AnnotationName],
		JobUID: hook.OwnerJobUID(s)}
	if t, ok := hook.LastUsed(s); ok {
		e.LastUsed = t
	}
	return e
}
