package commands

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// debugTarget holds run m-1 of job m; a created pod gets its generated
// name and then the phase of start (or waits for an image pull that fails).
func debugTarget(start corev1.PodPhase) (target, *fake.Clientset) {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "m-1", Namespace: "ns", UID: "uid-1",
		Labels: map[string]string{run.LabelKind: run.KindRun, run.LabelJob: "m"},
		Annotations: map[string]string{run.AnnotationJobUID: "uid-m", run.AnnotationReleaseName: "m",
			run.AnnotationReleaseNamespace: "ns"}},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "job", Image: "example.com/m:1", Command: []string{"./m"}}}}}}}
	def := jobdef.New("ns", "m")
	def.Spec.Image, def.Spec.Tag = "example.com/m", "1"
	sec, err := jobdef.ToSecret(def)
	if err != nil {
		panic(err)
	}
	sec.UID = "uid-m"
	cs := fake.NewClientset(job, sec)
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		pod.Name = pod.GenerateName + "x1"
		pod.Status.Phase = start
		if start == corev1.PodPending {
			pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "job", State: corev1.ContainerState{
				Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}}}}
		}
		return false, nil, nil
	})
	return target{Namespace: "ns", Client: cs}, cs
}

func newDebugOptions(tgt target, terminal bool, attach func(context.Context, *corev1.Pod) error) (*DebugOptions, *bytes.Buffer, *bytes.Buffer) {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	return &DebugOptions{Of: "m-1", Timeout: time.Hour, PodRunningTimeout: 5 * time.Second, target: tgt, IOStreams: streams,
		isTerminal: func(io.Reader) bool { return terminal }, attach: attach}, out, errOut
}

func TestDebugWithoutTerminalPrintsExecLine(t *testing.T) {
	tgt, cs := debugTarget(corev1.PodRunning)
	o, out, errOut := newDebugOptions(tgt, false, func(context.Context, *corev1.Pod) error {
		t.Fatal("attached without a terminal")
		return nil
	})
	if err := o.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if want := "pod/m-1-debug-x1 created\nkubectl exec -it -n ns m-1-debug-x1 -- sh\n"; out.String() != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	if !strings.Contains(errOut.String(), "Debug pod m-1-debug-x1 of run m-1 is running; it ends after 1h or with run m-1") {
		t.Errorf("stderr %q", errOut)
	}
	pod, err := cs.CoreV1().Pods("ns").Get(t.Context(), "m-1-debug-x1", metav1.GetOptions{})
	if err != nil || pod.Labels[run.LabelDebugOf] != "m-1" || pod.OwnerReferences[0].UID != "uid-1" {
		t.Fatalf("pod %v: %+v", err, pod)
	}
}

func TestDebugOnTerminalAttaches(t *testing.T) {
	tgt, _ := debugTarget(corev1.PodRunning)
	var attached string
	o, _, errOut := newDebugOptions(tgt, true, func(_ context.Context, p *corev1.Pod) error {
		attached = p.Name
		return &ExitError{Code: 3}
	})
	o.Command = []string{"/busybox/sleep", "60"}
	var exit *ExitError
	if err := o.Run(t.Context()); !errors.As(err, &exit) || exit.Code != 3 {
		t.Fatalf("the shell's exit code is not passed through: %v", err)
	}
	if attached != "m-1-debug-x1" || !strings.Contains(errOut.String(), "attaching /bin/sh") || !strings.Contains(errOut.String(), "The debug pod stays") {
		t.Fatalf("attached to %q; stderr %q", attached, errOut)
	}
}

func TestDebugPodThatCannotStartIsDeleted(t *testing.T) {
	tgt, cs := debugTarget(corev1.PodPending)
	o, _, _ := newDebugOptions(tgt, false, nil)
	err := o.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "debug pod m-1-debug-x1 cannot start: ImagePullBackOff") || !strings.HasSuffix(err.Error(), "; deleted it") {
		t.Fatalf("error %v", err)
	}
	if pods, _ := cs.CoreV1().Pods("ns").List(t.Context(), metav1.ListOptions{}); len(pods.Items) != 0 {
		t.Fatalf("%d pods left", len(pods.Items))
	}
}

func TestDebugArgsAndValidate(t *testing.T) {
	cases := map[string]struct {
		args []string
		want string // "" = valid
	}{
		"run":                 {[]string{"m-1"}, ""},
		"run and command":     {[]string{"m-1", "--", "sleep", "9"}, ""},
		"no run":              {[]string{}, "accepts 1 arg(s), received 0"},
		"two runs":            {[]string{"m-1", "m-2"}, "accepts 1 arg(s), received 2"},
		"command without run": {[]string{"--", "sh"}, "give one RUN before --, got 0"},
		"split timeout":       {[]string{"m-1", "--timeout", "1500ms"}, "invalid --timeout 1.5s: use whole seconds"},
		"zero timeout":        {[]string{"m-1", "--timeout", "0s"}, "invalid --timeout 0s"},
		"bad image":           {[]string{"m-1", "--image", "Bad:x"}, `invalid --image: invalid image reference "Bad:x"`},
		"bad wait":            {[]string{"m-1", "--pod-running-timeout", "0s"}, "--pod-running-timeout must be positive"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cmd := newDebugCmd(genericclioptions.NewConfigFlags(false), genericiooptions.NewTestIOStreamsDiscard())
			var got error
			cmd.RunE = func(c *cobra.Command, args []string) error {
				o := &DebugOptions{}
				o.Image, _ = c.Flags().GetString("image")
				o.Timeout, _ = c.Flags().GetDuration("timeout")
				o.PodRunningTimeout, _ = c.Flags().GetDuration("pod-running-timeout")
				o.Of = args[0]
				got = o.Validate()
				return nil
			}
			cmd.SetArgs(tc.args)
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			if err := cmd.Execute(); err != nil {
				got = err
			}
			if (tc.want == "") != (got == nil) || (got != nil && !strings.Contains(got.Error(), tc.want)) {
				t.Fatalf("error %v, want %q", got, tc.want)
			}
		})
	}
}
