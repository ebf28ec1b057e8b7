package run_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// historyJob is a job with its Secret's UID set (the fake clientset sets
// none) and the given history limits.
func historyJob(t *testing.T, succeeded, failed int32) *corev1.Secret {
	t.Helper()
	s := jobSecret(t, func(j *jobdef.Job) {
		j.Spec.Files = nil
		j.Spec.SucceededRunsHistoryLimit, j.Spec.FailedRunsHistoryLimit = &succeeded, &failed
		zero := int32(0)
		j.Spec.MaxRunsPerMinute = &zero
	})
	s.UID = "def-uid"
	return s
}

func end(t *testing.T, ft *fakeTrigger, runName string, cond batchv1.JobConditionType) {
	t.Helper()
	job, err := ft.cs.BatchV1().Jobs("ns").Get(t.Context(), runName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	job.Status.Conditions = append(job.Status.Conditions, batchv1.JobCondition{Type: cond, Status: corev1.ConditionTrue})
	if _, err := ft.cs.BatchV1().Jobs("ns").UpdateStatus(t.Context(), job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func runNames(t *testing.T, ft *fakeTrigger) map[string]string {
	t.Helper()
	list, err := ft.cs.BatchV1().Jobs("ns").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, j := range list.Items {
		out[j.Name] = j.Labels[run.LabelFinished]
	}
	return out
}

// TestHistoryLimitsPruneOldestFinishedRuns: with limits of 2 succeeded and
// 1 failed run, each trigger deletes the oldest finished runs beyond them
// (background propagation, at their UID), keeps active runs whatever their
// number, and marks the finished runs it keeps.
func TestHistoryLimitsPruneOldestFinishedRuns(t *testing.T) {
	ft := newFakeTrigger(t, 0, historyJob(t, 2, 1))
	var deletes []k8stesting.DeleteActionImpl
	ft.cs.PrependReactor("delete", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		deletes = append(deletes, a.(k8stesting.DeleteActionImpl))
		return false, nil, nil
	})
	var names []string
	for i := range 7 {
		res, err := trigger(t, ft)
		if err != nil {
			t.Fatalf("trigger %d: %v", i, err)
		}
		names = append(names, res.Run)
	}
	// 0-3 succeeded, 4-5 failed, 6 active.
	for i, n := range names[:6] {
		cond := batchv1.JobComplete
		if i >= 4 {
			cond = batchv1.JobFailed
		}
		end(t, ft, n, cond)
	}
	res, err := trigger(t, ft)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %v", res.Warnings)
	}
	got := runNames(t, ft)
	want := map[string]string{names[2]: "succeeded", names[3]: "succeeded", names[5]: "failed", names[6]: "", res.Run: ""}
	if len(got) != len(want) {
		t.Fatalf("runs kept: %v, want %v", got, want)
	}
	for n, label := range want {
		if l, ok := got[n]; !ok || l != label {
			t.Errorf("run %s: kept %v with label %q, want label %q", n, ok, l, label)
		}
	}
	if len(deletes) != 3 {
		t.Fatalf("%d deletes, want 3", len(deletes))
	}
	for _, d := range deletes {
		o := d.GetDeleteOptions()
		if o.PropagationPolicy == nil || *o.PropagationPolicy != metav1.DeletePropagationBackground || o.Preconditions == nil || o.Preconditions.UID == nil || *o.Preconditions.UID == "" {
			t.Errorf("delete of %s with %+v, want background propagation and a UID precondition", d.Name, o)
		}
	}
	// Zero keeps no finished run.
	ft2 := newFakeTrigger(t, 0, historyJob(t, 0, 0))
	first, err := trigger(t, ft2)
	if err != nil {
		t.Fatal(err)
	}
	end(t, ft2, first.Run, batchv1.JobFailed)
	if _, err := trigger(t, ft2); err != nil {
		t.Fatal(err)
	}
	if got := runNames(t, ft2); len(got) != 1 {
		t.Errorf("limits 0 kept %v, want only the new run", got)
	}
}

// TestFinishedRunsAreReadAsMetadata: once a trigger has marked finished
// runs, later triggers read whole Jobs only of the runs not marked (active
// or just ended): 30 failed runs cost no whole Job per trigger.
func TestFinishedRunsAreReadAsMetadata(t *testing.T) {
	ft := newFakeTrigger(t, 0, historyJob(t, 50, 50))
	for range 30 {
		res, err := trigger(t, ft)
		if err != nil {
			t.Fatal(err)
		}
		end(t, ft, res.Run, batchv1.JobFailed)
	}
	wholeJobs := 0
	ft.cs.PrependReactor("list", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sel := a.(k8stesting.ListActionImpl).GetListOptions().LabelSelector
		if strings.Contains(sel, "!"+run.LabelFinishedOf) {
			list, err := ft.cs.Tracker().List(batchv1.SchemeGroupVersion.WithResource("jobs"), batchv1.SchemeGroupVersion.WithKind("Job"), "ns")
			if err != nil {
				return true, nil, err
			}
			for _, j := range list.(*batchv1.JobList).Items {
				if j.Labels[run.LabelFinishedOf] == "" {
					wholeJobs++
				}
			}
		}
		return false, nil, nil
	})
	if _, err := trigger(t, ft); err != nil {
		t.Fatal(err)
	}
	if wholeJobs > 1 {
		t.Errorf("a trigger read %d whole Jobs, want at most the one run that ended since the last trigger", wholeJobs)
	}
	marked := 0
	for _, l := range runNames(t, ft) {
		if l == "failed" {
			marked++
		}
	}
	if marked != 30 {
		t.Errorf("%d runs marked failed, want 30", marked)
	}
}

// TestPruneFailureWarnsOnly: a delete the API server refuses does not fail
// the trigger: the run is created and the trigger warns with the count.
func TestPruneFailureWarnsOnly(t *testing.T) {
	ft := newFakeTrigger(t, 0, historyJob(t, 0, 0))
	first, err := trigger(t, ft)
	if err != nil {
		t.Fatal(err)
	}
	end(t, ft, first.Run, batchv1.JobComplete)
	ft.cs.PrependReactor("delete", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(batchv1.Resource("jobs"), "x", nil)
	})
	res, err := trigger(t, ft)
	if err != nil {
		t.Fatalf("trigger with a forbidden prune: %v", err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "1 of 1 finished runs beyond its history limits could not be deleted") {
		t.Errorf("warnings %q", res.Warnings)
	}
}

// TestPruneKeepsRunsOfOtherDefinitions: a Job with run labels that was not
// made from this definition (another UID, or planted) is never deleted.
func TestPruneKeepsRunsOfOtherDefinitions(t *testing.T) {
	ft := newFakeTrigger(t, 0, historyJob(t, 0, 0))
	planted := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "migrate-planted01", Namespace: "ns",
		Labels:      map[string]string{run.LabelKind: run.KindRun, run.LabelJob: "migrate"},
		Annotations: map[string]string{run.AnnotationJobUID: "other-uid"}},
		Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}}
	if _, err := ft.cs.BatchV1().Jobs("ns").Create(t.Context(), planted, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := trigger(t, ft); err != nil {
		t.Fatal(err)
	}
	if _, ok := runNames(t, ft)[planted.Name]; !ok {
		t.Errorf("a Job of another definition was pruned")
	}
}

// finishedJob is a finished run-shaped Job of job migrate made from the
// definition with UID of, with labels.
func finishedJob(t *testing.T, ft *fakeTrigger, name, of string, labels map[string]string, cond batchv1.JobConditionType) {
	t.Helper()
	l := map[string]string{run.LabelKind: run.KindRun, run.LabelJob: "migrate"}
	maps.Copy(l, labels)
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: l,
		Annotations: map[string]string{run.AnnotationJobUID: of}},
		Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue}}}}
	if _, err := ft.cs.BatchV1().Jobs("ns").Create(t.Context(), j, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// countListed counts the Jobs each list of a trigger returns (the fake
// clientset applies label selectors as the API server does).
func countListed(t *testing.T, ft *fakeTrigger) *int {
	t.Helper()
	n := new(int)
	ft.cs.PrependReactor("list", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sel := a.(k8stesting.ListActionImpl).GetListRestrictions().Labels
		list, err := ft.cs.Tracker().List(batchv1.SchemeGroupVersion.WithResource("jobs"), batchv1.SchemeGroupVersion.WithKind("Job"), "ns")
		if err != nil {
			return true, nil, err
		}
		for _, j := range list.(*batchv1.JobList).Items {
			if sel.Matches(labels.Set(j.Labels)) {
				*n++
			}
		}
		return false, nil, nil
	})
	return n
}

// TestTriggerReadsOnlyItsDefinitionsRuns: 300 marked runs an earlier job
// of the same name left (kept by their retention) are not read by a
// trigger of the job as it is now: it lists its own marked runs and the
// unmarked ones only (issue 23: a trigger must not read every run).
func TestTriggerReadsOnlyItsDefinitionsRuns(t *testing.T) {
	ft := newFakeTrigger(t, 0, historyJob(t, 5, 5))
	for i := range 300 {
		finishedJob(t, ft, fmt.Sprintf("migrate-old%05d", i), "earlier-uid",
			map[string]string{run.LabelFinished: "succeeded", run.LabelFinishedOf: "earlier-uid"}, batchv1.JobComplete)
	}
	for range 8 {
		res, err := trigger(t, ft)
		if err != nil {
			t.Fatal(err)
		}
		end(t, ft, res.Run, batchv1.JobComplete)
	}
	listed := countListed(t, ft)
	if _, err := trigger(t, ft); err != nil {
		t.Fatal(err)
	}
	// Its own 5 kept runs, the one that ended since, and nothing else.
	if *listed > 6 {
		t.Errorf("a trigger read %d runs, want at most the 6 of its own definition", *listed)
	}
	got := runNames(t, ft)
	if len(got) != 300+5+1 {
		t.Errorf("%d runs left, want the 300 of the earlier definition, 5 kept and the new one", len(got))
	}
}

// TestRunsMarkedBeforeFinishedOfAreMarkedAgain: runs marked finished by a
// version without LabelFinishedOf (and finished runs of other definitions
// never marked) are read with the unmarked runs and marked with the UID
// of the definition they were made from ("unknown" for an annotation that
// is no label value), at most maxMarkPerTrigger a trigger; the job's own
// are pruned by its history limits as before.
func TestRunsMarkedBeforeFinishedOfAreMarkedAgain(t *testing.T) {
	ft := newFakeTrigger(t, 0, historyJob(t, 3, 3))
	for i := range 150 {
		finishedJob(t, ft, fmt.Sprintf("migrate-a%05d", i), "def-uid", map[string]string{run.LabelFinished: "succeeded"}, batchv1.JobComplete)
		finishedJob(t, ft, fmt.Sprintf("migrate-b%05d", i), "earlier-uid", map[string]string{run.LabelFinished: "failed"}, batchv1.JobFailed)
	}
	finishedJob(t, ft, "migrate-c00000", "not a label value!", nil, batchv1.JobComplete)
	finishedJob(t, ft, "migrate-c00001", "earlier-uid", nil, batchv1.JobFailed)
	of := func() map[string]int {
		list, err := ft.cs.BatchV1().Jobs("ns").List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, j := range list.Items {
			out[j.Labels[run.LabelFinishedOf]]++
		}
		return out
	}
	if _, err := trigger(t, ft); err != nil {
		t.Fatal(err)
	}
	// Of its own 150: 100 deleted (the most a trigger deletes), the other 50
	// marked (47 to be deleted by the next trigger); then 150 of the
	// foreign runs, up to the 200 marks a trigger makes. Not marked: 2
	// foreign runs and the new (active) run.
	if got := of(); got["def-uid"] != 50 || got["earlier-uid"]+got["unknown"] != 150 || got[""] != 3 {
		t.Errorf("after one trigger: runs by %s %v", run.LabelFinishedOf, got)
	}
	for range 3 {
		if _, err := trigger(t, ft); err != nil {
			t.Fatal(err)
		}
	}
	got := of()
	want := map[string]int{"def-uid": 3, "earlier-uid": 151, "unknown": 1, "": 4} // "": the 4 active runs
	if !maps.Equal(got, want) {
		t.Errorf("after four triggers: runs by %s %v, want %v", run.LabelFinishedOf, got, want)
	}
}

// TestDecodeMetadataList: the finished runs' metadata decodes from the
// API server's protobuf envelope and from JSON to the same list; anything
// else is an error.
func TestDecodeMetadataList(t *testing.T) {
	want := metav1.PartialObjectMetadataList{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadataList"},
		Items: []metav1.PartialObjectMetadata{{ObjectMeta: metav1.ObjectMeta{Name: "m-1", UID: "u1", ResourceVersion: "7",
			Labels: map[string]string{run.LabelFinished: "succeeded"}, Annotations: map[string]string{run.AnnotationJobUID: "d"}}}}}
	raw, err := want.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	envelope := func(apiVersion, kind string) []byte {
		u := runtime.Unknown{TypeMeta: runtime.TypeMeta{APIVersion: apiVersion, Kind: kind}, Raw: raw}
		b, err := u.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return append([]byte("k8s\x00"), b...)
	}
	js, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"protobuf": envelope("meta.k8s.io/v1", "PartialObjectMetadataList"), "json": js} {
		got, err := run.DecodeMetadataList(data)
		if err != nil || len(got.Items) != 1 || !reflect.DeepEqual(got.Items[0].ObjectMeta, want.Items[0].ObjectMeta) {
			t.Errorf("%s: %+v, %v", name, got, err)
		}
	}
	for name, data := range map[string][]byte{
		"other kind":     envelope("v1", "JobList"),
		"cut envelope":   envelope("meta.k8s.io/v1", "PartialObjectMetadataList")[:10],
		"not json":       []byte("<html>"),
		"magic only":     []byte("k8s\x00"),
		"broken message": append([]byte("k8s\x00"), 0xff, 0xff, 0xff),
	} {
		if got, err := run.DecodeMetadataList(data); err == nil {
			t.Errorf("%s: decoded %+v", name, got)
		}
	}
}
