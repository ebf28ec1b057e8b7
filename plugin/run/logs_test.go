package run

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes/fake"
)

// The fake clientset serves every pod's log as "fake logs".
const fakeLog = "fake logs"

func TestLogsAttempts(t *testing.T) {
	failed := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}
	cs := fake.NewClientset(defSecret(t, "m"), runJob("m", "m-1", 0, succeeded),
		runPod("m-1", "m-1-b", time.Second, corev1.PodSucceeded, exited),
		runPod("m-1", "m-1-a", 0, corev1.PodFailed, failed))
	cases := map[string]struct {
		opts LogOptions
		want string
	}{
		"all":    {LogOptions{AllAttempts: true}, "==> attempt 1 (pod m-1-a) <==\n" + fakeLog + "==> attempt 2 (pod m-1-b) <==\n" + fakeLog},
		"latest": {LogOptions{}, fakeLog},
		"follow finished": {LogOptions{Follow: true, AllAttempts: true, Settle: time.Millisecond},
			"==> attempt 1 (pod m-1-a) <==\n" + fakeLog + "==> attempt 2 (pod m-1-b) <==\n" + fakeLog},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			var out bytes.Buffer
			if err := Logs(ctx, cs, "ns", "m-1", tc.opts, &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Fatalf("printed %q, want %q", out.String(), tc.want)
			}
		})
	}
}

func TestLogsErrors(t *testing.T) {
	cs := fake.NewClientset(defSecret(t, "m"), runJob("m", "m-1", 0))
	var out bytes.Buffer
	if err := Logs(t.Context(), cs, "ns", "nope", LogOptions{}, &out); !apierrors.IsNotFound(err) {
		t.Fatalf("logs of a missing run: %v", err)
	}
	err := Logs(t.Context(), cs, "ns", "m-1", LogOptions{}, &out)
	if !errors.Is(err, ErrNoPodYet) || !strings.Contains(err.Error(), "run m-1 has no pod yet") || out.Len() != 0 {
		t.Fatalf("logs of a run without pods: %v, %q", err, out.String())
	}
}
