package runend

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"

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

// TestRunEndReadsTheSigningSecretOnce: a run with a notification costs one
// read of its job's signing secret, shared by the claim (its URL hashes)
// and the delivery (the signature).
func TestRunEndReadsTheSigningSecretOnce(t *testing.T) {
	rcv := &receiver{codes: []int{200}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	ok, opod := endedRun("migrate-s", true, "def-uid")
	s := newSetup(t, []string{srv.URL + "/hook"}, notify.Options{AllowPrivate: true, AllowInsecure: true}, ok)
	if _, err := s.cs.CoreV1().Pods("ns").Create(t.Context(), opod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var reads atomic.Int32
	s.cs.PrependReactor("get", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.GetAction).GetName() == jobdef.SigningSecretName("migrate") {
			reads.Add(1)
		}
		return false, nil, nil
	})
	s.runUntil(t, "migrate-s")
	if rcv.count() != 1 || reads.Load() != 1 {
		t.Errorf("%d notifications, %d reads of the signing secret; want 1 and 1", rcv.count(), reads.Load())
	}
}
