package hookserver

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// TestHookConfirmedWhileTheDefinitionIsRead: a trigger's re-read of its
// hook (confirm) and the trigger's read of the job's definition go out at
// once (one round trip of the trigger's, not two). Each GET waits here,
// outside the fake clientset (which serializes its calls), until the
// other has begun: made one after the other, the first waits out the
// timeout and the test fails.
func TestHookConfirmedWhileTheDefinitionIsRead(t *testing.T) {
	var (
		mu     sync.Mutex
		begun  = map[string]chan struct{}{}
		missed []string
	)
	arrived := func(name string) chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		if begun[name] == nil {
			begun[name] = make(chan struct{})
		}
		return begun[name]
	}
	var wrapped *getGated
	f := newFixture(t, func(c *ServerConfig) {
		wrapped = &getGated{Interface: c.Client}
		c.Client = wrapped
	})
	hookName, defName := hook.SecretName(f.id), jobdef.SecretName("migrate")
	var once sync.Map
	wrapped.gate = func(name string) {
		other := map[string]string{hookName: defName, defName: hookName}[name]
		if other == "" {
			return
		}
		if _, done := once.LoadOrStore(name, true); !done {
			close(arrived(name))
		}
		select {
		case <-arrived(other):
		case <-time.After(2 * time.Second):
			mu.Lock()
			missed = append(missed, "GET "+name+" was made alone: GET "+other+" did not begin while it was in flight")
			mu.Unlock()
		}
	}
	f.trig.mu.Lock()
	f.trig.client = wrapped
	f.trig.mu.Unlock()
	if a := f.post(t, f.token, `{}`); a.code != 201 {
		t.Fatalf("trigger: %d %s", a.code, a.body)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, m := range missed {
		t.Error(m)
	}
}

// getGated is a clientset whose Secret GETs call gate(name) first.
type getGated struct {
	kubernetes.Interface
	gate func(name string)
}

// IsWatchListSemanticsUnSupported is the fake clientset's: informers list
// and watch it without streaming lists.
func (g *getGated) IsWatchListSemanticsUnSupported() bool { return true }

func (g *getGated) CoreV1() corev1client.CoreV1Interface {
	return getGatedCore{g.Interface.CoreV1(), g}
}

type getGatedCore struct {
	corev1client.CoreV1Interface
	g *getGated
}

func (c getGatedCore) Secrets(ns string) corev1client.SecretInterface {
	return getGatedSecrets{c.CoreV1Interface.Secrets(ns), c.g}
}

type getGatedSecrets struct {
	corev1client.SecretInterface
	g *getGated
}

func (s getGatedSecrets) Get(ctx context.Context, name string, o metav1.GetOptions) (*corev1.Secret, error) {
	if s.g.gate != nil {
		s.g.gate(name)
	}
	return s.SecretInterface.Get(ctx, name, o)
}
