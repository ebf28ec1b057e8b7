package helmrun

import (
	"context"
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
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	restfake "k8s.io/client-go/rest/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef/jobdeftest"
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
	// conflictGets counts Helm's GETs of the new objects (not seen by cs).
	conflictGets atomic.Int32
}

func newFakeTrigger(t testing.TB, createDelay time.Duration, objs ...*corev1.Secret) *fakeTrigger {
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
	// Lists come back with a resourceVersion, as from the API server
	// (admission then reads the runs as of the history's: Speculate).
	cs.PrependReactor("list", "secrets", func(a k8stesting.Action) (bool, k8sruntime.Object, error) {
		handled, obj, err := k8stesting.ObjectReaction(cs.Tracker())(a)
		if list, ok := obj.(*corev1.SecretList); ok && err == nil {
			list.ResourceVersion = "1"
		}
		return handled, obj, err
	})
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
					Client: notFoundREST(&ft.conflictGets), Mapping: &meta.RESTMapping{
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
func notFoundREST(gets *atomic.Int32) *restfake.RESTClient {
	return &restfake.RESTClient{
		NegotiatedSerializer: scheme.Codecs.WithoutConversion(),
		Client: restfake.CreateHTTPClient(func(*http.Request) (*http.Response, error) {
			gets.Add(1)
			body := `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`
			return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(body))}, nil
		}),
	}
}

// jobSecret is the fixture definition with one file, stored.
func jobSecret(t *testing.T, mutate func(*jobdef.Job)) *corev1.Secret {
	t.Helper()
	return jobdeftest.Secret(t, jobdeftest.WithFile, mutate)
}

// filesName is the files Secret the run's Job mounts.
func filesName(t *testing.T, ft *fakeTrigger, runName string) string {
	t.Helper()
	job, err := ft.cs.BatchV1().Jobs("ns").Get(t.Context(), runName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range job.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			return v.Secret.SecretName
		}
	}
	t.Fatalf("run %s mounts no files Secret", runName)
	return ""
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
