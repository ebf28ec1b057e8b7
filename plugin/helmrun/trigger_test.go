package helmrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/kube"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	restfake "k8s.io/client-go/rest/fake"
	"sigs.k8s.io/yaml"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// fakeTrigger is a Triggerer on a fake clientset whose Helm kube client
// builds the rendered manifest and creates its Jobs in the clientset, after
// createDelay (the API server, an admission webhook...).
type fakeTrigger struct {
	*run.Triggerer
	rel     *releaser
	cs      *fake.Clientset
	creates atomic.Int32
}

func newFakeTrigger(t *testing.T, createDelay time.Duration, objs ...*corev1.Secret) *fakeTrigger {
	t.Helper()
	cs := fake.NewClientset()
	for _, o := range objs {
		if o.UID == "" { // as the API server gives every object
			o.UID = types.UID("uid-" + o.Name)
		}
		if _, err := cs.CoreV1().Secrets(o.Namespace).Create(t.Context(), o, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ft := &fakeTrigger{cs: cs}
	kc := &helmKube{
		build: func(r io.Reader, _ bool) (kube.ResourceList, error) {
			data, err := io.ReadAll(r)
			if err != nil {
				return nil, err
			}
			var list kube.ResourceList
			for doc := range strings.SplitSeq(string(data), "\n---") {
				var job batchv1.Job
				if err := yaml.Unmarshal([]byte(doc), &job); err != nil || job.Kind != "Job" {
					continue
				}
				list = append(list, &resource.Info{Name: job.Name, Namespace: job.Namespace, Object: job.DeepCopy(),
					Client: notFoundREST(), Mapping: &meta.RESTMapping{
						GroupVersionKind: schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"},
						Resource:         schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"},
						Scope:            meta.RESTScopeNamespace}})
			}
			return list, nil
		},
		create: func(list kube.ResourceList) (*kube.Result, error) {
			time.Sleep(createDelay)
			for _, info := range list {
				job := info.Object.(*batchv1.Job)
				job.UID = types.UID(fmt.Sprintf("uid-%s", job.Name))
				if _, err := cs.BatchV1().Jobs(job.Namespace).Create(context.Background(), job, metav1.CreateOptions{}); err != nil {
					return nil, err
				}
				ft.creates.Add(1)
			}
			return &kube.Result{Created: list}, nil
		},
	}
	ft.rel = &releaser{client: cs, helm: map[string]*action.Configuration{"ns": {KubeClient: kc}}}
	ft.Triggerer = &run.Triggerer{Client: cs, Releaser: ft.rel}
	return ft
}

// notFoundREST answers Helm's conflict check (a GET of each new object)
// with 404: a run's objects are always new.
func notFoundREST() *restfake.RESTClient {
	return &restfake.RESTClient{
		NegotiatedSerializer: scheme.Codecs.WithoutConversion(),
		Client: restfake.CreateHTTPClient(func(*http.Request) (*http.Response, error) {
			body := `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`
			return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(body))}, nil
		}),
	}
}

func jobSecret(t *testing.T, mutate func(*jobdef.Job)) *corev1.Secret {
	t.Helper()
	j := jobdef.New("ns", "migrate")
	j.Spec.Image = "example.com/migrate"
	j.Spec.Parameters = []jobdef.Parameter{{Name: "TARGET", Default: "latest"}}
	j.Spec.Files = []jobdef.File{{Path: "/etc/app.conf", Content: "x=1"}}
	if mutate != nil {
		mutate(j)
	}
	s, err := jobdef.ToSecret(j)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTriggerDeadlineMidUpgrade: the caller's deadline passes while the
// run's Job is being created. The trigger reports the run (never an error
// that makes a caller retry into a duplicate), the files stay and belong
// to the Job, and no goroutine of Helm's outlives the trigger (review M1).
func TestTriggerDeadlineMidUpgrade(t *testing.T) {
	ft := newFakeTrigger(t, 300*time.Millisecond, jobSecret(t, nil))
	before := runtime.NumGoroutine()
	for i := range 3 {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		start := time.Now()
		res, err := ft.Trigger(ctx, run.Request{Namespace: "ns", Job: "migrate", TriggeredBy: "user:test"})
		cancel()
		if err != nil {
			t.Fatalf("trigger %d: %v (after %v), want the run that was created", i, err, time.Since(start))
		}
		files, err := ft.cs.CoreV1().Secrets("ns").Get(t.Context(), filesName(t, ft, res.Run), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("trigger %d: files of run %s: %v", i, res.Run, err)
		}
		if len(files.OwnerReferences) != i+1 || !slices.ContainsFunc(files.OwnerReferences, func(o metav1.OwnerReference) bool { return o.Name == res.Run }) {
			t.Errorf("trigger %d: files owned by %v, want the runs' Jobs", i, files.OwnerReferences)
		}
		// The trigger returned once the Job existed; Helm finishes the
		// release record in the background, and the next trigger's 100 ms
		// would go to waiting for it under load (a busy release).
		waitReleaseSettled(t, ft, i+1)
	}
	if n := ft.creates.Load(); n != 3 {
		t.Errorf("%d Jobs created, want 3", n)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines %d before, %d after the triggers: a trigger left some behind", before, after)
	}
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

// waitReleaseSettled waits until revision rev of job migrate's release is
// recorded and none is pending.
func waitReleaseSettled(t *testing.T, ft *fakeTrigger, rev int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		list, err := ft.cs.CoreV1().Secrets("ns").List(t.Context(), metav1.ListOptions{LabelSelector: "owner=helm,name=migrate"})
		if err != nil {
			t.Fatal(err)
		}
		settled, found := true, false
		for _, r := range list.Items {
			settled = settled && !strings.HasPrefix(r.Labels["status"], "pending")
			found = found || r.Labels["version"] == strconv.Itoa(rev)
		}
		if settled && found {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("revision %d of the release not settled within 5s", rev)
}
