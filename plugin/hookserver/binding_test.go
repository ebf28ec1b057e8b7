package hookserver

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// recreateJob deletes job migrate's Secret and creates it again with a new
// UID; the fake clientset has no garbage collector, so the hook stays.
func recreateJob(t *testing.T, f *fixture, uid types.UID) {
	t.Helper()
	ctx := context.Background()
	secrets := f.client.CoreV1().Secrets(testNS)
	if err := secrets.Delete(ctx, jobdef.SecretName("migrate"), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	j := jobdef.New(testNS, "migrate")
	j.Spec.Image = "example.com/evil/other"
	sec, err := jobdef.ToSecret(j)
	if err != nil {
		t.Fatal(err)
	}
	sec.UID = uid
	if _, err := secrets.Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestHookBoundToJobUID is L2 of the security review: after the job is
// deleted and created again under the same name, the old hook's token is
// not found (the hook Secret records the old job Secret's UID).
func TestHookBoundToJobUID(t *testing.T) {
	f := newFixture(t, nil)
	if a := f.post(t, f.token, `{}`); a.code != 201 {
		t.Fatalf("before: %d %s", a.code, a.body)
	}
	recreateJob(t, f, "uid-migrate-2")
	_, before := f.trig.last()
	if a := f.post(t, f.token, `{}`); a.code != 404 || !strings.Contains(a.body, "hook not found") {
		t.Fatalf("old token after the job was re-created: %d %s", a.code, a.body)
	}
	if _, after := f.trig.last(); after != before {
		t.Fatal("the old token triggered the new job")
	}
	// A hook created for the new job works.
	h, err := (&hook.Store{Client: f.client, Namespace: testNS}).Create(context.Background(), "migrate", "new CI", "user:test")
	if err != nil {
		t.Fatal(err)
	}
	waitCached(t, f, h.Token)
	if a := f.post(t, h.Token, `{}`); a.code != 201 {
		t.Fatalf("new hook: %d %s", a.code, a.body)
	}
}

// TestHookWithoutOwnerFailsClosed: a hook Secret whose ownerReference was
// removed (delete --cascade=orphan, hand edits) triggers nothing.
func TestHookWithoutOwnerFailsClosed(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	secrets := f.client.CoreV1().Secrets(testNS)
	sec, err := secrets.Get(ctx, hook.SecretName(f.id), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hook.OwnerJobUID(sec) != "uid-migrate" {
		t.Fatalf("a new hook records owner UID %q, want uid-migrate", hook.OwnerJobUID(sec))
	}
	sec.OwnerReferences = nil
	if _, err := secrets.Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, before := f.trig.last()
	if a := f.post(t, f.token, `{}`); a.code != 404 {
		t.Fatalf("hook without owner: %d %s", a.code, a.body)
	}
	if _, after := f.trig.last(); after != before {
		t.Fatal("a hook without owner triggered a run")
	}
}

func waitCached(t *testing.T, f *fixture, token string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, ok := f.server.index.Authenticate(token); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("new hook not in the cache after 5s")
		}
	}
}
