package run

import (
	"context"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// TestWatchReportsAStartOverAfterExpiry: the Jobs watch ends with 410
// Gone (an Expired Status, as kube-apiserver sends it when etcd compacted
// the resourceVersion); Watch lists again and reports changed(""), since
// what changed in between is not known by name; then the next watch's
// events are reported by name again. A watch refused with 410 at start
// does the same.
func TestWatchReportsAStartOverAfterExpiry(t *testing.T) {
	for name, refuse := range map[string]bool{"error event": false, "refused": true} {
		t.Run(name, func(t *testing.T) {
			cs := fake.NewClientset()
			var mu sync.Mutex
			watches := 0
			next := watch.NewFake()
			cs.PrependWatchReactor("jobs", func(k8stesting.Action) (bool, watch.Interface, error) {
				mu.Lock()
				defer mu.Unlock()
				watches++
				switch {
				case watches == 1 && refuse:
					return true, nil, apierrors.NewResourceExpired("too old resource version: 1 (5)")
				case watches == 1:
					w := watch.NewFake()
					go func() {
						st := apierrors.NewResourceExpired("too old resource version: 1 (5)").ErrStatus
						w.Error(&st)
					}()
					return true, w, nil
				}
				return true, next, nil
			})
			cs.PrependWatchReactor("pods", func(k8stesting.Action) (bool, watch.Interface, error) {
				return true, watch.NewFake(), nil
			})
			got := make(chan string, 10)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go func() { _ = Watch(ctx, cs, "ns", func(run string) { got <- run }) }()
			if r := recv(t, got); r != "" {
				t.Fatalf("first report %q, want the start over (\"\")", r)
			}
			next.Modify(&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j-1", Namespace: "ns", ResourceVersion: "9",
				Labels: map[string]string{LabelRun: "j-1"}}})
			if r := recv(t, got); r != "j-1" {
				t.Fatalf("then %q, want j-1", r)
			}
			mu.Lock()
			defer mu.Unlock()
			if watches != 2 {
				t.Errorf("%d watches of Jobs, want 2", watches)
			}
		})
	}
}

func recv(t *testing.T, c <-chan string) string {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("nothing reported within 10s")
		return ""
	}
}
