package hookserver

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
)

func TestHookLastUsedIsCoalesced(t *testing.T) {
	f := newFixture(t, nil)
	for range 5 {
		if a := f.post(t, f.token, ``); a.code != 201 {
			t.Fatal(a.body)
		}
	}
	patches := func() int {
		n := 0
		for _, a := range f.client.Actions() {
			if p, ok := a.(k8stesting.PatchAction); ok && p.GetResource().Resource == "secrets" && p.GetPatchType() == types.MergePatchType {
				n++
			}
		}
		return n
	}
	if n := patches(); n != 0 {
		t.Fatalf("%d writes during requests, want 0", n)
	}
	ctx := context.Background()
	f.server.usage.flush(ctx)
	if n := patches(); n != 1 {
		t.Fatalf("%d writes after flush, want 1", n)
	}
	h, err := (&hook.Store{Client: f.client, Namespace: testNS}).Get(ctx, f.id)
	if err != nil || h.Status.LastUsed == nil || time.Since(h.Status.LastUsed.Time) > time.Minute {
		t.Fatalf("last used %+v, %v", h, err)
	}
	// Once the cache shows the recent time, further uses write nothing.
	deadline := time.Now().Add(2 * time.Second)
	for e, _ := f.server.index.Lookup(testNS, f.id); e.LastUsed.IsZero(); e, _ = f.server.index.Lookup(testNS, f.id) {
		if time.Now().After(deadline) {
			t.Fatal("cache never saw the last-used time")
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.post(t, f.token, ``)
	f.server.usage.flush(ctx)
	if n := patches(); n != 1 {
		t.Fatalf("%d writes within a minute, want 1", n)
	}
}
