package commands

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// finishedRuns are n succeeded runs of job, the n-th the newest.
func finishedRuns(job string, n int) []runtime.Object {
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var objs []runtime.Object
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("%s-%04d", job, i)
		objs = append(objs, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns",
			CreationTimestamp: metav1.NewTime(base.Add(time.Duration(i) * time.Minute)),
			Labels:            map[string]string{run.LabelKind: run.KindRun, run.LabelJob: job, run.LabelRun: name}},
			Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}})
	}
	return objs
}

// TestRunsLimit: a table shows the newest runs up to --limit (100 unless
// given) and says on stderr how many older ones it left out; json, yaml
// and name print every run unless --limit is given.
func TestRunsLimit(t *testing.T) {
	for name, tc := range map[string]struct {
		output   string
		limit    int
		set      bool
		runs     int
		first    string // newest printed
		last     string // oldest printed
		gone     string // newest not printed ("" = none)
		hint     string
		hintNone bool
	}{
		"default table":        {runs: 150, limit: defaultRunsLimit, first: "m-0150", last: "m-0051", gone: "m-0050", hint: "50 older runs not shown: --limit 150"},
		"default fits":         {runs: 3, limit: defaultRunsLimit, first: "m-0003", last: "m-0001", hintNone: true},
		"limit 2":              {runs: 5, limit: 2, set: true, first: "m-0005", last: "m-0004", gone: "m-0003", hint: "3 older runs not shown"},
		"limit 0 all":          {runs: 150, limit: 0, set: true, first: "m-0150", last: "m-0001", hintNone: true},
		"wide limit 1":         {output: "wide", runs: 3, limit: 1, set: true, first: "m-0003", last: "m-0003", gone: "m-0002", hint: "2 older runs"},
		"json all by default":  {output: "json", runs: 120, limit: defaultRunsLimit, first: "m-0120", last: "m-0001", hintNone: true},
		"name limit 1":         {output: "name", runs: 3, limit: 1, set: true, first: "m-0003", last: "m-0003", gone: "m-0002", hint: "2 older runs"},
		"yaml limit 2 given":   {output: "yaml", runs: 4, limit: 2, set: true, first: "m-0004", last: "m-0003", gone: "m-0002", hint: "2 older runs"},
		"name all by default":  {output: "name", runs: 101, limit: defaultRunsLimit, first: "m-0101", last: "m-0001", hintNone: true},
		"limit above the runs": {runs: 2, limit: 10, set: true, first: "m-0002", last: "m-0001", hintNone: true},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut strings.Builder
			o := &RunsOptions{Job: "m", Output: tc.output, Limit: tc.limit, limitSet: tc.set,
				target:    target{Namespace: "ns", Client: fake.NewClientset(finishedRuns("m", tc.runs)...)},
				IOStreams: genericiooptions.IOStreams{Out: &out, ErrOut: &errOut}}
			if err := o.Validate(); err != nil {
				t.Fatal(err)
			}
			if err := o.Run(t.Context()); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			i, j := strings.Index(got, tc.first), strings.Index(got, tc.last)
			if i < 0 || j < 0 || i > j {
				t.Fatalf("want %s first and %s last:\n%s", tc.first, tc.last, got)
			}
			if tc.gone != "" && strings.Contains(got, tc.gone) {
				t.Errorf("%s printed beyond the limit", tc.gone)
			}
			if tc.hintNone && errOut.String() != "" {
				t.Errorf("stderr %q, want nothing", errOut.String())
			}
			if !tc.hintNone && !strings.Contains(errOut.String(), tc.hint) {
				t.Errorf("stderr %q, want %q", errOut.String(), tc.hint)
			}
		})
	}
}

func TestRunsLimitBadInput(t *testing.T) {
	for _, limit := range []int{-1, -100} {
		o := &RunsOptions{Job: "m", Limit: limit, limitSet: true}
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), "invalid --limit") || strings.Contains(err.Error(), "\n") {
			t.Errorf("limit %d: error %v", limit, err)
		}
	}
}

// TestRunsWatchStartsLimited: `runs --watch` starts from the newest runs up
// to --limit, like a listing, and then prints changes of any run.
func TestRunsWatchStartsLimited(t *testing.T) {
	cs := fake.NewClientset(finishedRuns("w", 5)...)
	var out, errOut runsBuffer
	o := &RunsOptions{Job: "w", Watch: true, Limit: 2, limitSet: true, target: target{Namespace: "ns", Client: cs},
		IOStreams: genericiooptions.IOStreams{Out: &out, ErrOut: &errOut}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- o.watch(ctx, "ns") }()
	waitForRuns(t, "the first list", func() bool { return strings.Contains(errOut.String(), "3 older runs not shown") })
	got := out.String()
	if !strings.Contains(got, "w-0005") || !strings.Contains(got, "w-0004") || strings.Contains(got, "w-0003") {
		t.Errorf("watch started with:\n%s", got)
	}
	// An old run that changes is printed all the same.
	job, err := cs.BatchV1().Jobs("ns").Get(t.Context(), "w-0001", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	job.Annotations = map[string]string{run.AnnotationCancelledAt: time.Now().UTC().Format(time.RFC3339)}
	job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "Cancelled"}}
	if _, err := cs.BatchV1().Jobs("ns").Update(t.Context(), job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForRuns(t, "the old run's change", func() bool { return strings.Contains(out.String(), "w-0001") })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("watch ended with %v", err)
	}
}
