package run

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestWaitReturnsFinishedRun(t *testing.T) {
	cs := fake.NewClientset(runJob("m", "m-1", 0, succeeded))
	var seen []Phase
	st, err := Wait(t.Context(), cs, "ns", "m-1", WaitOptions{OnChange: func(s Status) { seen = append(seen, s.Phase) }})
	if err != nil || st.Phase != Succeeded || len(seen) != 1 {
		t.Fatalf("Wait = %+v, %v; changes %v", st, err, seen)
	}
	if _, err := Wait(t.Context(), cs, "ns", "nope", WaitOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("Wait of a missing run: %v", err)
	}
}

// TestWaitFollowsChanges: Wait watches the run's Job and returns once it
// has finished, reporting each change of state once.
func TestWaitFollowsChanges(t *testing.T) {
	cs := fake.NewClientset(runJob("m", "m-1", 0), runPod("m-1", "m-1-a", 0, corev1.PodRunning, running))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var phases []Phase
	st, err := Wait(ctx, cs, "ns", "m-1", WaitOptions{OnChange: func(s Status) {
		phases = append(phases, s.Phase)
		if s.Phase == Running && len(phases) == 1 {
			go func() {
				j, err := cs.BatchV1().Jobs("ns").Get(ctx, "m-1", metav1.GetOptions{})
				if err == nil {
					succeeded(j)
					_, err = cs.BatchV1().Jobs("ns").UpdateStatus(ctx, j, metav1.UpdateOptions{})
				}
				if err != nil {
					t.Error(err)
				}
			}()
		}
	}})
	if err != nil || st.Phase != Succeeded || phases[0] != Running || phases[len(phases)-1] != Succeeded {
		t.Fatalf("Wait = %+v, %v; phases %v", st, err, phases)
	}
}

// TestWaitGivesUpOnImagePull: a run whose image cannot be pulled ends the
// wait after PullTimeout, still running (it retries until its timeout).
func TestWaitGivesUpOnImagePull(t *testing.T) {
	backoff := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}
	cs := fake.NewClientset(runJob("m", "m-1", 0), runPod("m-1", "m-1-a", 0, corev1.PodPending, backoff))
	start := time.Now()
	st, err := Wait(t.Context(), cs, "ns", "m-1", WaitOptions{PullTimeout: 200 * time.Millisecond})
	if err != nil || st.Phase != Running || st.Reason != ReasonImagePull {
		t.Fatalf("Wait = %+v, %v", st, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("gave up after %s, want about the pull timeout", d)
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	cs := fake.NewClientset(runJob("m", "m-1", 0), runPod("m-1", "m-1-a", 0, corev1.PodRunning, running))
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	st, err := Wait(ctx, cs, "ns", "m-1", WaitOptions{})
	if !errors.Is(err, context.DeadlineExceeded) || st.Phase != Running {
		t.Fatalf("Wait = %+v, %v; want the last status and the context's error", st, err)
	}
}
