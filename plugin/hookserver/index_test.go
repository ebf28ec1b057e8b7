package hookserver

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// hookSecret is the Secret of hook id of job in ns for token.
func hookSecret(ns, job, id, token string) *corev1.Secret {
	def := jobdef.New(ns, job)
	def.UID = types.UID("uid-" + ns + "-" + job)
	return hook.ToSecret(def, id, token, "CI", "user:test")
}

func newTestToken(t *testing.T) (id, token string) {
	t.Helper()
	id, token, err := hook.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	return id, token
}

// startIndex starts an index of namespaces over cs and waits for its sync.
func startIndex(t *testing.T, cs *fake.Clientset, namespaces []string, onDelete func(ns, id string)) *Index {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	x := NewNamespacesIndex(cs, namespaces, onDelete)
	x.Start(ctx)
	t.Cleanup(func() { cancel(); x.Shutdown() })
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	if !x.WaitForSync(sctx) {
		t.Fatal("index did not sync")
	}
	return x
}

func eventuallyTrue(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !f(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestIndexServesListedNamespacesOnly: one informer per listed namespace;
// a hook of any other namespace does not authenticate (H4).
func TestIndexServesListedNamespacesOnly(t *testing.T) {
	cs := fake.NewClientset()
	tokens := map[string]string{}
	for _, ns := range []string{"a", "b", "c"} {
		id, token := newTestToken(t)
		tokens[ns] = token
		if _, err := cs.CoreV1().Secrets(ns).Create(context.Background(), hookSecret(ns, "job-"+ns, id, token), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	x := startIndex(t, cs, []string{"b", "a", "b"}, nil)
	if got := x.Namespaces(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("namespaces %v, want [a b]", got)
	}
	if x.Len() != 2 {
		t.Fatalf("Len %d, want 2", x.Len())
	}
	for _, ns := range []string{"a", "b"} {
		e, ok := x.Authenticate(tokens[ns])
		if !ok || e.Namespace != ns || e.Job != "job-"+ns || e.JobUID != types.UID("uid-"+ns+"-job-"+ns) {
			t.Errorf("token of %s: %+v %v", ns, e, ok)
		}
		if _, ok := x.Lookup(ns, e.ID); !ok {
			t.Errorf("Lookup %s/%s: not found", ns, e.ID)
		}
	}
	if e, ok := x.Authenticate(tokens["c"]); ok {
		t.Errorf("hook of unlisted namespace c authenticated: %+v", e)
	}
	id, _ := hook.ParseToken(tokens["c"])
	if _, ok := x.Lookup("c", id); ok {
		t.Error("Lookup in unlisted namespace c found the hook")
	}
}

// TestIndexDuplicateIDFailsClosed: a hook Secret copied into another
// served namespace (same id, same hash) makes its token match nothing,
// instead of a random namespace's job (review L2, second half); deleting
// the copy restores the original.
func TestIndexDuplicateIDFailsClosed(t *testing.T) {
	for name, namespaces := range map[string][]string{"listed": {"a", "b"}, "all namespaces": nil} {
		t.Run(name, func(t *testing.T) {
			cs := fake.NewClientset()
			ctx := context.Background()
			id, token := newTestToken(t)
			if _, err := cs.CoreV1().Secrets("a").Create(ctx, hookSecret("a", "job-a", id, token), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var deleted []string
			x := startIndex(t, cs, namespaces, func(ns, id string) {
				mu.Lock()
				defer mu.Unlock()
				deleted = append(deleted, ns+"/"+id)
			})
			if e, ok := x.Authenticate(token); !ok || e.Namespace != "a" {
				t.Fatalf("before the copy: %+v %v", e, ok)
			}
			if _, err := cs.CoreV1().Secrets("b").Create(ctx, hookSecret("b", "job-b", id, token), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			eventuallyTrue(t, "the copy in the cache", func() bool { return x.Len() == 2 })
			for i := range 50 {
				if e, ok := x.Authenticate(token); ok {
					t.Fatalf("attempt %d: duplicate id authenticated as %s/%s", i, e.Namespace, e.Job)
				}
			}
			if err := cs.CoreV1().Secrets("b").Delete(ctx, hook.SecretName(id), metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			eventuallyTrue(t, "the copy gone", func() bool { return x.Len() == 1 })
			if e, ok := x.Authenticate(token); !ok || e.Namespace != "a" {
				t.Fatalf("after deleting the copy: %+v %v", e, ok)
			}
			// Handlers hear of the delete after the cache has it.
			eventuallyTrue(t, "onDelete of b/"+id, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return slices.Equal(deleted, []string{"b/" + id})
			})
		})
	}
}

// TestIndexIgnoresMisnamedHookSecret: the index key is namespace and id,
// so a Secret whose name is not the id's (and which hook delete would not
// remove) is no hook.
func TestIndexIgnoresMisnamedHookSecret(t *testing.T) {
	cs := fake.NewClientset()
	id, token := newTestToken(t)
	s := hookSecret("a", "job-a", id, token)
	s.Name = "not-" + s.Name
	if _, err := cs.CoreV1().Secrets("a").Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	x := startIndex(t, cs, []string{"a"}, nil)
	if e, ok := x.Authenticate(token); ok {
		t.Fatalf("misnamed hook Secret authenticated: %+v", e)
	}
}

func TestServedNamespaces(t *testing.T) {
	for name, tc := range map[string]struct{ in, want []string }{
		"empty":          {nil, []string{""}},
		"all":            {[]string{"a", ""}, []string{""}},
		"one":            {[]string{"a"}, []string{"a"}},
		"sorted, unique": {[]string{"b", " a", "b"}, []string{"a", "b"}},
	} {
		if got := ServedNamespaces(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
	if got := NewIndex(fake.NewClientset(), "b,a", nil).Namespaces(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf(`NewIndex "b,a": %q`, got)
	}
}
