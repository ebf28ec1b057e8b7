package run_test

import (
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"net/http/httptest"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// TestServerClockReadsDateHeaders: the clock takes the server's time from
// its responses' Date header, whatever the local clock says.
func TestServerClockReadsDateHeaders(t *testing.T) {
	serverAhead := 90 * time.Second
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Date", time.Now().Add(serverAhead).UTC().Format(http.TimeFormat))
	}))
	defer srv.Close()
	clock := &run.ServerClock{}
	if d := time.Until(clock.Now()); d > time.Second || d < -time.Second {
		t.Fatalf("before any response the clock is %v off the local one", d)
	}
	client := &http.Client{Transport: clock.Wrap(http.DefaultTransport)}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Until(clock.Now()) - serverAhead; d > 1500*time.Millisecond || d < -1500*time.Millisecond {
		t.Errorf("clock is %v off the server's", d)
	}
	var nilClock *run.ServerClock
	if d := nilClock.Since(time.Now().Add(-time.Minute)); d < time.Minute || d > time.Minute+time.Second {
		t.Errorf("nil clock: Since = %v", d)
	}
}

// TestSweepIsRateLimitedAndKeepsOwnedFiles: the orphan sweep deletes only
// files without owner older than orphanAge, and runs at most once per
// run.SweepEvery per job (review H3).
func TestSweepIsRateLimitedAndKeepsOwnedFiles(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobSecret(t, nil))
	def := jobdef.New("ns", "migrate")
	def.Spec.Files = []jobdef.File{{Path: "/a", Content: "x"}}
	def.Spec.Parameters = []jobdef.Parameter{{Name: "P", Secret: true}}
	mk := func(runName string, created time.Time, owned bool) {
		// A shared files Secret, named here like a legacy one to tell
		// them apart, and a run's params Secret: both are swept.
		s := run.FilesSecret(def)
		s.Name = runName + "-files"
		if runName == "migrate-orphan-params" {
			s = run.ParamsSecret(def, runName, nil)
			s.Name = runName + "-files"
		}
		s.CreationTimestamp = metav1.Time{Time: created}
		if owned {
			s.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: runName, UID: "u"}}
		}
		if _, err := ft.cs.CoreV1().Secrets("ns").Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mk("migrate-orphan", time.Now().Add(-time.Hour), false)
	mk("migrate-fresh", time.Now(), false)
	mk("migrate-owned", time.Now().Add(-time.Hour), true)
	mk("migrate-orphan-params", time.Now().Add(-time.Hour), false)
	ft.SweepOrphanFiles(t.Context(), "ns", "migrate")
	exists := func(name string) bool {
		_, err := ft.cs.CoreV1().Secrets("ns").Get(t.Context(), name, metav1.GetOptions{})
		return err == nil
	}
	if exists("migrate-orphan-params-files") {
		t.Error("an orphaned params Secret was not swept")
	}
	if exists("migrate-orphan-files") || !exists("migrate-fresh-files") || !exists("migrate-owned-files") {
		t.Fatalf("after the sweep: orphan %v fresh %v owned %v, want false true true",
			exists("migrate-orphan-files"), exists("migrate-fresh-files"), exists("migrate-owned-files"))
	}
	mk("migrate-orphan2", time.Now().Add(-time.Hour), false)
	lists := 0
	ft.cs.PrependReactor("list", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		lists++
		return false, nil, nil
	})
	ft.SweepOrphanFiles(t.Context(), "ns", "migrate")
	if lists != 0 || !exists("migrate-orphan2-files") {
		t.Errorf("a second sweep within %v listed %d times", run.SweepEvery, lists)
	}
}
