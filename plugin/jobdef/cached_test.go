package jobdef

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// mapCache is a SecretCache over a map (what an informer's lister gives).
type mapCache map[string]*corev1.Secret

func (m mapCache) Get(name string) (*corev1.Secret, error) {
	if s, ok := m[name]; ok {
		return s, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("secrets"), name)
}

// TestCachedReadsAreCheckedInput: a Store with a cache answers from it
// only what passes the same checks as a read from the API server (the
// cache holds whatever anyone wrote, and may lag a fix): a definition
// that fails its checks, a signing secret of the wrong type or a miss are
// read from the API server, and what fails there fails as it always did.
func TestCachedReadsAreCheckedInput(t *testing.T) {
	j := validJob()
	j.Spec.Notifications = []Notification{{URL: "https://hooks.example.com/done"}}
	good, err := ToSecret(j)
	if err != nil {
		t.Fatal(err)
	}
	tampered := good.DeepCopy()
	tampered.Data[DataKey] = []byte(`{"image":"evil","unknownField":1}`)
	cs := fake.NewClientset(good)
	store := &Store{Client: cs, Namespace: j.Namespace}
	if _, err := store.EnsureSigningSecret(t.Context(), j, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	signing, err := cs.CoreV1().Secrets(j.Namespace).Get(t.Context(), SigningSecretName(j.Name), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wrongType := signing.DeepCopy()
	wrongType.Type = corev1.SecretTypeOpaque
	gets := 0
	cs.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) { gets++; return false, nil, nil })

	for _, tc := range []struct {
		name  string
		cache mapCache
		gets  int
	}{
		{"cached and valid: no request", mapCache{good.Name: good, signing.Name: signing}, 0},
		{"cached definition fails its checks: read from the API server", mapCache{good.Name: tampered, signing.Name: signing}, 1},
		{"cached signing secret of another type: read from the API server", mapCache{good.Name: good, signing.Name: wrongType}, 1},
		{"not cached: read from the API server", mapCache{}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gets = 0
			s := &Store{Client: cs, Namespace: j.Namespace, Cached: tc.cache}
			def, err := s.GetValid(t.Context(), j.Name)
			if err != nil || def.Spec.Image != j.Spec.Image {
				t.Fatalf("GetValid: %v, %v", def, err)
			}
			if _, err := s.SigningKeys(t.Context(), j.Name); err != nil {
				t.Fatalf("SigningKeys: %v", err)
			}
			if gets != tc.gets {
				t.Errorf("%d reads from the API server, want %d", gets, tc.gets)
			}
		})
	}
	// What is tampered with on the API server too fails as without a cache.
	if _, err := cs.CoreV1().Secrets(j.Namespace).Update(t.Context(), tampered, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	s := &Store{Client: cs, Namespace: j.Namespace, Cached: mapCache{good.Name: tampered}}
	if _, err := s.GetValid(t.Context(), j.Name); !IsInvalid(err) {
		t.Errorf("a definition tampered with in the cache and the API server: %v, want invalid", err)
	}
}
