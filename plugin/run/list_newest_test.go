package run

import (
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// TestListNewestReadsItsWindowOnly: of 250 runs, page 2 of 100 is runs
// 101-200 newest first, with the total; whole Jobs are listed of those 100
// only (by their run label), and all is List's answer; a run whose label
// is not its name makes it List's answer too, never a run missed.
func TestListNewestReadsItsWindowOnly(t *testing.T) {
	var objs []runtime.Object
	for i := range 250 {
		name := fmt.Sprintf("m-%05d", i)
		objs = append(objs, runJob("m", name, time.Duration(i)*time.Second, succeeded, func(j *batchv1.Job) { j.Labels[LabelRun] = name }))
	}
	objs = append(objs, runJob("other", "other-00001", time.Hour, succeeded))
	cs := fake.NewClientset(objs...)
	var sels []string
	cs.PrependReactor("list", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sels = append(sels, a.(k8stesting.ListActionImpl).GetListRestrictions().Labels.String())
		return false, nil, nil
	})
	check := func(skip, n, wantFirst, wantLen int) {
		t.Helper()
		runs, total, err := ListNewest(t.Context(), cs, "ns", "m", skip, n)
		if err != nil {
			t.Fatal(err)
		}
		if total != 250 || len(runs) != wantLen || (wantLen > 0 && runs[0].Name != fmt.Sprintf("m-%05d", wantFirst)) {
			t.Fatalf("skip %d n %d: total %d, %d runs from %v", skip, n, total, len(runs), runs[:min(1, len(runs))])
		}
		for i := 1; i < len(runs); i++ {
			if !runs[i-1].Created.After(runs[i].Created) {
				t.Fatalf("not newest first at %d", i)
			}
		}
	}
	check(100, 100, 149, 100)
	check(0, 100, 249, 100)
	check(200, 100, 49, 50)
	check(300, 100, 0, 0)
	check(0, 0, 249, 250)
	all, err := List(t.Context(), cs, "ns", "m")
	if err != nil || len(all) != 250 {
		t.Fatalf("List: %d, %v", len(all), err)
	}
	// Each windowed read: one list of metadata (the fake lists whole
	// objects for it) and one selecting the window by run label.
	if len(sels) < 2 || strings.Contains(sels[0], LabelRun) || !strings.Contains(sels[1], LabelRun+" in (m-00050,") || strings.Contains(sels[1], "m-00049") || strings.Contains(sels[1], "m-00150") {
		t.Errorf("selectors of the lists: %.200q, want the window's list to select by run", sels)
	}
	forged := runJob("m", "m-99999", 300*time.Second, succeeded, func(j *batchv1.Job) { j.Labels[LabelRun] = "m-00001" })
	if _, err := cs.BatchV1().Jobs("ns").Create(t.Context(), forged, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	runs, total, err := ListNewest(t.Context(), cs, "ns", "m", 0, 10)
	if err != nil || total != 251 || len(runs) != 10 || runs[0].Name != "m-99999" {
		t.Errorf("with a forged run label: total %d, %d runs, first %v, %v", total, len(runs), runs[:min(1, len(runs))], err)
	}
}
