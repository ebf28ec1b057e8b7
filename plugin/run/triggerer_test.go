package run_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef/jobdeftest"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"github.com/shipjob/kubectl-shipjob/plugin/run/runtest"
)

// fakeTrigger is a Triggerer on a fake clientset with runtest's Releaser,
// which creates each run's Job after createDelay.
type fakeTrigger struct {
	*run.Triggerer
	cs  *fake.Clientset
	rel *runtest.Releaser
}

func newFakeTrigger(t *testing.T, createDelay time.Duration, objs ...*corev1.Secret) *fakeTrigger {
	t.Helper()
	cs := fake.NewClientset()
	for _, o := range objs {
		if o.UID == "" { // as the API server gives every object
			o.UID = "uid-" + types.UID(o.Name)
		}
		if _, err := cs.CoreV1().Secrets(o.Namespace).Create(t.Context(), o, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rel := runtest.New(cs)
	rel.CreateDelay = createDelay
	return &fakeTrigger{Triggerer: &run.Triggerer{Client: cs, Releaser: rel}, cs: cs, rel: rel}
}

// creates is how many Jobs the trigger created.
func (ft *fakeTrigger) creates() int32 { return ft.rel.Creates.Load() }

// jobSecret is the fixture definition with one file, stored.
func jobSecret(t *testing.T, mutate func(*jobdef.Job)) *corev1.Secret {
	t.Helper()
	return jobdeftest.Secret(t, jobdeftest.WithFile, mutate)
}

// TestTriggerDeadlineBeforeUpgrade: a deadline that passed before the
// release was touched is an error, and nothing stays behind.
func TestTriggerDeadlineBeforeUpgrade(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobSecret(t, nil))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := ft.Trigger(ctx, run.Request{Namespace: "ns", Job: "migrate"}); err == nil {
		t.Fatal("trigger with an ended context succeeded")
	}
	assertNothingWritten(t, ft)
}

func assertNothingWritten(t *testing.T, ft *fakeTrigger) {
	t.Helper()
	secrets, _ := ft.cs.CoreV1().Secrets("ns").List(t.Context(), metav1.ListOptions{})
	for _, s := range secrets.Items {
		if s.Name != jobdef.SecretName("migrate") {
			t.Errorf("secret %s was written", s.Name)
		}
	}
	if jobs, _ := ft.cs.BatchV1().Jobs("ns").List(t.Context(), metav1.ListOptions{}); len(jobs.Items) > 0 {
		t.Errorf("%d Jobs were created", len(jobs.Items))
	}
}

// TestTriggerRefusesBadStoredDefinitions: a job Secret edited by hand is
// validated like create's input before anything is rendered or written
// (review H1: a newline in serviceAccountName gave the pod hostPID).
func TestTriggerRefusesBadStoredDefinitions(t *testing.T) {
	inject := "default\n      hostPID: true\n      hostNetwork: true"
	cases := map[string]struct {
		mutate func(*jobdef.Job)
		want   string
	}{
		"service account injection": {func(j *jobdef.Job) { j.Spec.ServiceAccountName = inject },
			`job migrate in namespace ns is invalid: spec.serviceAccountName: invalid service account "default\n      hostPID: true`},
		"pull secret injection": {func(j *jobdef.Job) { j.Spec.ImagePullSecrets = []string{"p\n      hostIPC: true"} },
			"spec.imagePullSecrets[0]: invalid image pull secret"},
		"env secret injection": {func(j *jobdef.Job) {
			j.Spec.EnvFromSecrets = []string{"x\n          securityContext:\n            privileged: true"}
		}, "spec.envFromSecrets[0]: invalid env secret"},
		"bad memory":      {func(j *jobdef.Job) { j.Spec.Resources.Memory = "lots" }, `spec.resources.memory: invalid memory "lots"`},
		"duplicate files": {func(j *jobdef.Job) { j.Spec.Files = append(j.Spec.Files, j.Spec.Files[0]) }, "spec.files[1].path: file path \"/etc/app.conf\" is mounted twice"},
		"nested files": {func(j *jobdef.Job) {
			j.Spec.Files = append(j.Spec.Files, jobdef.File{Path: "/etc/app.conf/x", Content: "y"})
		}, `is inside "/etc/app.conf", which is mounted as a file`},
		"huge parameter": {func(j *jobdef.Job) { j.Spec.Parameters[0].Default = strings.Repeat("x", 300<<10) },
			"spec.parameters: parameters take 300 KiB in each run's annotations; the API server allows 256 KiB"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			// Written past validation, as by hand.
			sec := jobSecret(t, tc.mutate)
			ft := newFakeTrigger(t, 0, sec)
			_, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate"})
			if !jobdef.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) ||
				!strings.HasSuffix(err.Error(), "; fix it with 'kubectl shipjob edit migrate'") {
				t.Fatalf("error = %v, want an InvalidError with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n      hostPID") {
				t.Errorf("error is not one line: %q", err)
			}
			assertNothingWritten(t, ft)
		})
	}
}

// TestTriggerRefusesTagOnPinnedDigest (review M4): a per-run tag does not
// un-pin a job pinned to a digest, unless the job allows it.
func TestTriggerRefusesTagOnPinnedDigest(t *testing.T) {
	digest := "sha256:" + strings.Repeat("a", 64)
	pinned := func(j *jobdef.Job) { j.Spec.Tag, j.Spec.Digest = "", digest }
	ft := newFakeTrigger(t, 0, jobSecret(t, pinned))
	_, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", Tag: "attacker-chosen"})
	if !run.IsInput(err) || !strings.Contains(err.Error(), "is pinned to digest") {
		t.Fatalf("error = %v, want an InputError about the pin", err)
	}
	assertNothingWritten(t, ft)
	res, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate"})
	if err != nil || res.Image != "example.com/migrate@"+digest {
		t.Fatalf("run without tag: %v, %+v", err, res)
	}
	allowed := newFakeTrigger(t, 0, jobSecret(t, func(j *jobdef.Job) { pinned(j); j.Spec.AllowTagOverride = true }))
	res, err = allowed.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", Tag: "1.2"})
	if err != nil || res.Image != "example.com/migrate:1.2" {
		t.Fatalf("allowed override: %v, %+v", err, res)
	}
}

// TestTriggerRequiredParameterNotEmpty: a required parameter must be given
// a value, not an empty string (review L1, "null" satisfied it).
func TestTriggerRequiredParameterNotEmpty(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobSecret(t, func(j *jobdef.Job) {
		j.Spec.Parameters = []jobdef.Parameter{{Name: "TICKET", Required: true}}
	}))
	_, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", Params: map[string]string{"TICKET": ""}})
	if !run.IsInput(err) || !strings.Contains(err.Error(), `required parameter "TICKET"`) {
		t.Fatalf("error = %v, want an InputError naming TICKET", err)
	}
	assertNothingWritten(t, ft)
}

// TestTriggerErrorsAreTyped: not found and input errors can be told apart
// with errors.As by every front end.
func TestTriggerErrorsAreTyped(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobSecret(t, nil))
	_, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "nope"})
	var status interface{ Status() metav1.Status }
	if !errors.As(err, &status) || status.Status().Code != 404 {
		t.Errorf("missing job: %v, want a NotFound API error", err)
	}
	_, err = ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", Params: map[string]string{"NOPE": "x"}})
	if !run.IsInput(err) {
		t.Errorf("unknown parameter: %v, want an InputError", err)
	}
}

// TestParameterValuesAreText (review L6): invalid UTF-8 and NUL are
// refused for every front end (the runtime would refuse the env).
func TestParameterValuesAreText(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobSecret(t, nil))
	for _, v := range []string{"\xff\xfe", "a\x00b"} {
		_, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", Params: map[string]string{"TARGET": v}})
		if !run.IsInput(err) || !strings.Contains(err.Error(), `invalid value for parameter "TARGET"`) {
			t.Errorf("value %q: %v, want an InputError", v, err)
		}
	}
	assertNothingWritten(t, ft)
	if _, err := run.StaleAfterFromEnv(func(string) string { return "soon" }); err == nil || !strings.Contains(err.Error(), "invalid SHIPJOB_STALE_AFTER") {
		t.Errorf("StaleAfterFromEnv(soon) = %v", err)
	}
	if d, err := run.StaleAfterFromEnv(func(string) string { return "45s" }); err != nil || d != 45*time.Second {
		t.Errorf("StaleAfterFromEnv(45s) = %v, %v", d, err)
	}
}

// TestTypedParameterRefusedAtTrigger: a value that breaks its type is an
// InputError and nothing is written.
func TestTypedParameterRefusedAtTrigger(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobSecret(t, func(j *jobdef.Job) {
		j.Spec.Parameters = []jobdef.Parameter{{Name: "COUNT", Type: jobdef.ParamInteger, Default: "1"}, {Name: "REGION", Enum: []string{"eu", "us"}, Default: "eu"}}
	}))
	for params, want := range map[string]string{
		"COUNT=ten": `invalid value "ten" for parameter "COUNT": want an integer`,
		"REGION=mx": `invalid value "mx" for parameter "REGION": allowed: eu, us`,
	} {
		k, v, _ := strings.Cut(params, "=")
		_, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", Params: map[string]string{k: v}})
		if !run.IsInput(err) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want %q", params, err, want)
		}
	}
	assertNothingWritten(t, ft)
}
