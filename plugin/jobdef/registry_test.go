package jobdef

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestRegistryWrites(t *testing.T) {
	other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: RegistrySecretName("theirs"), Namespace: "ns"}}
	cs := fake.NewClientset(other)
	s := &Store{Client: cs, Namespace: "ns"}
	opts := WriteOptions{FieldManager: ManagedBy}
	r, err := s.CreateRegistry(t.Context(), "acme", "ghcr.io/acme", "bot", "s3cret", opts)
	if err != nil || r.Name != "acme" || r.Server != "ghcr.io/acme" || r.Username != "bot" || r.Secret != "shipjob-registry-acme" {
		t.Fatalf("CreateRegistry = %+v, %v", r, err)
	}
	sec, err := cs.CoreV1().Secrets("ns").Get(t.Context(), r.Secret, metav1.GetOptions{})
	if err != nil || sec.Type != corev1.SecretTypeDockerConfigJson || !strings.Contains(string(sec.Data[corev1.DockerConfigJsonKey]), `"ghcr.io"`) {
		t.Fatalf("pull secret %+v, %v", sec, err)
	}
	if _, err := s.CreateRegistry(t.Context(), "acme", "ghcr.io/acme", "bot", "x", opts); !apierrors.IsAlreadyExists(err) ||
		err.Error() != `registries.shipjob.dev "acme" already exists` {
		t.Fatalf("second create: %v", err)
	}
	if _, err := s.CreateRegistry(t.Context(), "bad", "https://ghcr.io", "bot", "x", opts); err == nil || !strings.Contains(err.Error(), "invalid registry server") {
		t.Fatalf("bad server: %v", err)
	}
	if err := s.DeleteRegistry(t.Context(), "acme", opts); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"acme", "theirs"} { // deleted; not a registry of ours
		if err := s.DeleteRegistry(t.Context(), name, opts); !apierrors.IsNotFound(err) || err.Error() != `registries.shipjob.dev "`+name+`" not found` {
			t.Errorf("DeleteRegistry(%s): %v", name, err)
		}
	}
	if _, err := cs.CoreV1().Secrets("ns").Get(t.Context(), other.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("a Secret that is not a registry was deleted: %v", err)
	}
	var dry []string
	cs.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		dry = a.(k8stesting.CreateActionImpl).CreateOptions.DryRun
		return false, nil, nil
	})
	if _, err := s.CreateRegistry(t.Context(), "d", "quay.io", "u", "p", WriteOptions{DryRun: []string{metav1.DryRunAll}}); err != nil || strings.Join(dry, ",") != "All" {
		t.Fatalf("server dry run: %v, dryRun %q", err, dry)
	}
}
