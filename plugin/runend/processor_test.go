package runend

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shipjob/kubectl-shipjob/plugin/notify"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// TestRunEndNotifiesOnceSignedWithTTLAndEvent: a failed and a succeeded run
// are each notified once, signed, with their outcome; TTLs follow the
// outcome; each gets one Event; processing again sends nothing more.
func TestRunEndNotifiesOnceSignedWithTTLAndEvent(t *testing.T) {
	rcv := &receiver{codes: []int{200}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	failed, fpod := endedRun("migrate-f", false, "def-uid")
	ok, opod := endedRun("migrate-s", true, "def-uid")
	s := newSetup(t, []string{srv.URL + "/hook"}, notify.Options{AllowPrivate: true, AllowInsecure: true}, failed, ok)
	for _, p := range []*corev1.Pod{fpod, opod} {
		if _, err := s.cs.CoreV1().Pods("ns").Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	jobs := s.runUntil(t, "migrate-f", "migrate-s")
	if rcv.count() != 2 {
		t.Fatalf("%d notifications, want 2", rcv.count())
	}
	got := map[string]map[string]any{}
	for i, b := range rcv.bodies {
		if err := notify.Verify(s.secret, srv.URL+"/hook", rcv.headers[i], b, time.Now(), 0); err != nil {
			t.Errorf("notification %d: signature %q does not verify", i, rcv.sigs[i])
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		got[m["run"].(string)] = m
	}
	if f := got["migrate-f"]; f["outcome"] != "failed" || f["exitCode"] != float64(3) || f["job"] != "migrate" ||
		f["parameters"].(map[string]any)["TOKEN"] != "<secret>" || f["triggeredBy"] != "hook:ci" {
		t.Errorf("failed run's body: %v", f)
	}
	if g := got["migrate-s"]; g["outcome"] != "succeeded" || g["exitCode"] != float64(0) {
		t.Errorf("succeeded run's body: %v", g)
	}
	if ttl := jobs["migrate-f"].Spec.TTLSecondsAfterFinished; ttl == nil || *ttl != 48*3600 {
		t.Errorf("failed run's TTL %v, want retentionFailed 48h", ttl)
	}
	if ttl := jobs["migrate-s"].Spec.TTLSecondsAfterFinished; ttl == nil || *ttl != 3600 {
		t.Errorf("succeeded run's TTL %v, want retention 1h", ttl)
	}
	for name, j := range jobs {
		if ds := deliveries(t, j); len(ds) != 1 || ds[0].State != run.DeliveryDelivered {
			t.Errorf("%s: deliveries %+v", name, ds)
		}
		if j.Labels[run.LabelEnded] != "true" {
			t.Errorf("%s: no %s label: the watch would keep it cached", name, run.LabelEnded)
		}
	}
	evs, _ := s.cs.CoreV1().Events("ns").List(t.Context(), metav1.ListOptions{})
	reasons := map[string]string{}
	for _, e := range evs.Items {
		reasons[e.InvolvedObject.Name] += e.Reason
	}
	if reasons["migrate-f"] != "RunFailed" || reasons["migrate-s"] != "RunSucceeded" {
		t.Errorf("events %v, want one RunFailed and one RunSucceeded", reasons)
	}
	// Processing again (a new leader) sends nothing: the runs are ended.
	s.p.cfg.Workers = 1
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	_ = s.p.Run(ctx, make(chan struct{}))
	if rcv.count() != 2 {
		t.Errorf("a second leader sent %d more", rcv.count()-2)
	}
}

// TestRunEndRequests (issue 23): the end of a completed run with one
// notification costs three writes (the claim, its Event, the delivery
// recorded with the end) and no read: the run is claimed as the cache has
// it, its definition and signing secret come from the cache of them, and a
// completed run's pods are not listed.
func TestRunEndRequests(t *testing.T) {
	rcv := &receiver{codes: []int{200}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	ok, opod := endedRun("migrate-s", true, "def-uid")
	s := newSetup(t, []string{srv.URL + "/hook"}, notify.Options{AllowPrivate: true, AllowInsecure: true}, ok)
	if _, err := s.cs.CoreV1().Pods("ns").Create(t.Context(), opod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	count := map[string]int{}
	s.cs.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetVerb() != "watch" {
			mu.Lock()
			count[a.GetVerb()+" "+a.GetResource().Resource]++
			mu.Unlock()
		}
		return false, nil, nil
	})
	s.runUntil(t, "migrate-s")
	mu.Lock()
	defer mu.Unlock()
	// The informers' lists (runs, definitions, gauges) are made once per
	// leadership, not per run end.
	want := map[string]int{"list jobs": 2, "list secrets": 1, "update jobs": 2, "create events": 1}
	if count["list jobs"] == 1 { // the gauges' list is made alongside: it may come later
		count["list jobs"] = 2
	}
	if rcv.count() != 1 || !maps.Equal(count, want) {
		t.Errorf("%d notifications, requests %v; want 1 and %v", rcv.count(), count, want)
	}
}

// TestClaimBehindTheCacheReadsAgain: a claim made from a cached run that
// the API server has moved past gets a conflict; the run is then read and
// claimed as the server has it, so a run another leader already claimed is
// not claimed (or notified) twice, and one that only changed otherwise is.
func TestClaimBehindTheCacheReadsAgain(t *testing.T) {
	for _, tc := range []struct {
		name         string
		otherLeader  bool
		wantNotified int
		wantEvents   int
	}{
		{"claimed by another leader meanwhile", true, 0, 0},
		{"changed otherwise meanwhile", false, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := &receiver{codes: []int{200}}
			srv := httptest.NewServer(rcv)
			defer srv.Close()
			ok, _ := endedRun("migrate-s", true, "def-uid")
			s := newSetup(t, []string{srv.URL + "/hook"}, notify.Options{AllowPrivate: true, AllowInsecure: true}, ok)
			gvr := batchv1.SchemeGroupVersion.WithResource("jobs")
			var mu sync.Mutex
			conflicted, gets := false, 0
			s.cs.PrependReactor("get", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
				mu.Lock()
				gets++
				mu.Unlock()
				return false, nil, nil
			})
			s.cs.PrependReactor("update", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
				mu.Lock()
				defer mu.Unlock()
				if conflicted {
					return false, nil, nil
				}
				conflicted = true
				o, err := s.cs.Tracker().Get(gvr, "ns", "migrate-s")
				if err != nil {
					return true, nil, err
				}
				j := o.(*batchv1.Job).DeepCopy()
				j.ResourceVersion = "2"
				if tc.otherLeader {
					j.Annotations[run.AnnotationNotifications] = `[{"target":0,"state":"delivered"}]`
					j.Annotations[run.AnnotationEnded] = "2026-12-07T00:00:00Z"
					j.Labels[run.LabelEnded] = "true"
				} else {
					j.Annotations["example.com/touched"] = "yes"
				}
				if err := s.cs.Tracker().Update(gvr, j, "ns"); err != nil {
					return true, nil, err
				}
				return true, nil, apierrors.NewConflict(gvr.GroupResource(), "migrate-s", errors.New("the object has been modified"))
			})
			s.runUntil(t, "migrate-s")
			evs, _ := s.cs.CoreV1().Events("ns").List(t.Context(), metav1.ListOptions{})
			mu.Lock()
			defer mu.Unlock()
			if !conflicted || gets != 1 || rcv.count() != tc.wantNotified || len(evs.Items) != tc.wantEvents {
				t.Errorf("conflict %v, %d reads of the run, %d notifications, %d events; want true, 1, %d, %d",
					conflicted, gets, rcv.count(), len(evs.Items), tc.wantNotified, tc.wantEvents)
			}
		})
	}
}

// TestRunDeletedBeforeItsEndIsCounted: a finished run deleted before the
// leader could record its end counts in shipjob_run_ends_missed_total; one
// deleted after its end was recorded does not.
func TestRunDeletedBeforeItsEndIsCounted(t *testing.T) {
	rcv := &receiver{codes: []int{200}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	done, _ := endedRun("migrate-done", true, "def-uid")
	stuck, _ := endedRun("migrate-stuck", true, "def-uid")
	s := newSetup(t, []string{srv.URL + "/hook"}, notify.Options{AllowPrivate: true, AllowInsecure: true}, done, stuck)
	// The end of migrate-stuck cannot be recorded (its claim fails).
	s.cs.PrependReactor("update", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.UpdateAction).GetObject().(*batchv1.Job).Name == "migrate-stuck" {
			return true, nil, apierrors.NewInternalError(errors.New("etcd is away"))
		}
		return false, nil, nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = s.p.Run(ctx, make(chan struct{})) }()
	waitFor(t, "migrate-done ended", func() bool {
		o, err := s.cs.Tracker().Get(batchv1.SchemeGroupVersion.WithResource("jobs"), "ns", "migrate-done")
		return err == nil && o.(*batchv1.Job).Labels[run.LabelEnded] != ""
	})
	for _, name := range []string{"migrate-done", "migrate-stuck"} {
		if err := s.cs.BatchV1().Jobs("ns").Delete(t.Context(), name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "one missed end counted", func() bool { return testutil.ToFloat64(s.metrics.missed.WithLabelValues("ns")) == 1 })
	time.Sleep(200 * time.Millisecond)
	if n := testutil.ToFloat64(s.metrics.missed.WithLabelValues("ns")); n != 1 {
		t.Errorf("missed run ends %v, want 1 (migrate-stuck only)", n)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEndMarkIsNotAMissedEnd: the API server's watch of runs not ended
// says "deleted", with the run as it was before, when the mark of its end
// takes it out; a run this leader marked is not counted as missed, one it
// did not mark is.
func TestEndMarkIsNotAMissedEnd(t *testing.T) {
	s := newSetup(t, nil, notify.Options{})
	before, _ := endedRun("migrate-marked", true, "def-uid")
	after := before.DeepCopy()
	after.Labels[run.LabelEnded] = "true"
	s.p.ended.note(after)
	s.p.deleted(before)
	if n := testutil.ToFloat64(s.metrics.missed.WithLabelValues("ns")); n != 0 {
		t.Errorf("the run marked ended here counted as missed (%v)", n)
	}
	s.p.deleted(before) // now deleted for real: its mark was seen once
	if n := testutil.ToFloat64(s.metrics.missed.WithLabelValues("ns")); n != 1 {
		t.Errorf("missed %v, want 1", n)
	}
}
