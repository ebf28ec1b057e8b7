package commands

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// runsBuffer is a bytes buffer safe for one writer and one reader.
type runsBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *runsBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *runsBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunsWatchFollowsRunWatch: `runs --watch` prints a run created and
// then finished after it started, from the changes run.Watch reports.
func TestRunsWatchFollowsRunWatch(t *testing.T) {
	cs := fake.NewClientset()
	var out, errOut runsBuffer
	o := &RunsOptions{Job: "w", Watch: true, target: target{Namespace: "ns", Client: cs},
		IOStreams: genericiooptions.IOStreams{Out: &out, ErrOut: &errOut}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- o.watch(ctx, "ns") }()
	waitForRuns(t, "the first list", func() bool { return strings.Contains(errOut.String(), "Waiting for runs") })

	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "w-1", Namespace: "ns", CreationTimestamp: metav1.Now(),
		Labels: map[string]string{run.LabelKind: run.KindRun, run.LabelJob: "w", run.LabelRun: "w-1"}}}
	job, err := cs.BatchV1().Jobs("ns").Create(t.Context(), job, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitForRuns(t, "the new run", func() bool { return strings.Contains(out.String(), "w-1") })
	job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
	if _, err := cs.BatchV1().Jobs("ns").Update(t.Context(), job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForRuns(t, "the run's end", func() bool { return strings.Contains(out.String(), "Succeeded") })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("watch ended with %v, want nil when stopped", err)
	}
	if lines := strings.Count(out.String(), "\n"); lines != 3 {
		t.Errorf("%d lines, want a header and one per change:\n%s", lines, out.String())
	}
}

func waitForRuns(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
