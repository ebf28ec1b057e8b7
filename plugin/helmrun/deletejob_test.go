package helmrun

import (
	"fmt"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/shipjob/kubectl-shipjob/charts"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// jobWithRuns is a clientset holding job definitions a and b, runs (with
// files) of a (3), b (1) and of a deleted job (1).
func jobWithRuns(t *testing.T) *fake.Clientset {
	t.Helper()
	var objs []runtime.Object
	for _, name := range []string{"a", "b"} {
		j := jobdef.New("ns", name)
		j.Spec.Image = "busybox"
		sec, err := jobdef.ToSecret(j)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, sec)
	}
	for job, n := range map[string]int{"a": 3, "b": 1, "gone": 1} {
		for i := range n {
			name := fmt.Sprintf("%s-%d", job, i)
			objs = append(objs, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{run.LabelKind: run.KindRun, run.LabelJob: job}}}, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-files", Namespace: "ns",
				Labels: map[string]string{run.LabelKind: run.KindRunFiles, run.LabelJob: job, run.LabelRun: name}}})
		}
	}
	return fake.NewClientset(objs...)
}

func TestDeleteJob(t *testing.T) {
	cases := map[string]struct {
		opts      run.DeleteJobOptions
		want      run.DeleteJobResult
		runsLeft  int // of 5
		filesLeft int // of 5
		defLeft   bool
	}{
		"with runs":  {want: run.DeleteJobResult{Runs: 3}, runsLeft: 2, filesLeft: 2},
		"keep runs":  {opts: run.DeleteJobOptions{KeepRuns: true}, want: run.DeleteJobResult{RunsKept: true}, runsLeft: 5, filesLeft: 5},
		"client dry": {opts: run.DeleteJobOptions{DryRun: run.DryRunClient}, want: run.DeleteJobResult{Runs: 3}, runsLeft: 5, filesLeft: 5, defLeft: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cs := jobWithRuns(t)
			got, err := New(run.EngineConfig{Client: cs}).DeleteJob(t.Context(), "ns", "a", tc.opts)
			if err != nil || got != tc.want {
				t.Fatalf("DeleteJob = %+v, %v; want %+v", got, err, tc.want)
			}
			runs, _ := cs.BatchV1().Jobs("ns").List(t.Context(), metav1.ListOptions{})
			files, _ := cs.CoreV1().Secrets("ns").List(t.Context(), metav1.ListOptions{LabelSelector: run.LabelKind + "=" + run.KindRunFiles})
			_, defErr := (&jobdef.Store{Client: cs, Namespace: "ns"}).Get(t.Context(), "a")
			if len(runs.Items) != tc.runsLeft || len(files.Items) != tc.filesLeft || (defErr == nil) != tc.defLeft {
				t.Fatalf("left %d runs, %d files, definition %v; want %d, %d, %v", len(runs.Items), len(files.Items), defErr == nil,
					tc.runsLeft, tc.filesLeft, tc.defLeft)
			}
			if tc.opts.DryRun == run.DryRunClient {
				for _, a := range cs.Actions() {
					if v := a.GetVerb(); v == "delete" || v == "create" || v == "update" || v == "patch" {
						t.Fatalf("client dry run wrote: %v", a)
					}
				}
			}
		})
	}
}

func TestDeleteJobErrors(t *testing.T) {
	cs := jobWithRuns(t)
	if _, err := New(run.EngineConfig{Client: cs}).DeleteJob(t.Context(), "ns", "gone", run.DeleteJobOptions{}); !apierrors.IsNotFound(err) ||
		err.Error() != `jobs.shipjob.dev "gone" not found` {
		t.Fatalf("delete of a missing job: %v", err)
	}
	// A run that went away meanwhile (its retention ended) is fine; any
	// other failure stops before the definition, so a retry can finish.
	cs.PrependReactor("delete", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		switch a.(k8stesting.DeleteAction).GetName() {
		case "a-0":
			return true, nil, apierrors.NewNotFound(batchv1.Resource("jobs"), "a-0")
		case "a-1":
			return true, nil, apierrors.NewForbidden(batchv1.Resource("jobs"), "a-1", nil)
		}
		return false, nil, nil
	})
	_, err := New(run.EngineConfig{Client: cs}).DeleteJob(t.Context(), "ns", "a", run.DeleteJobOptions{})
	if !apierrors.IsForbidden(err) || !strings.HasPrefix(err.Error(), "delete run a-1: ") {
		t.Fatalf("failed run delete: %v", err)
	}
	if _, err := (&jobdef.Store{Client: cs, Namespace: "ns"}).Get(t.Context(), "a"); err != nil {
		t.Fatalf("definition deleted although its runs were not: %v", err)
	}
}

func TestDryRunAPI(t *testing.T) {
	for d, want := range map[run.DryRun]string{run.DryRunNone: "", run.DryRunClient: "", run.DryRunServer: "All"} {
		if got := strings.Join(d.API(), ","); got != want {
			t.Errorf("%q.API() = %q, want %q", d, got, want)
		}
	}
}

// putRecord stores a Helm release record of release name, version v, of
// chart chartName, with manifest and hooks as given.
func putRecord(t *testing.T, cs *fake.Clientset, name string, v int, chartName, manifest string, hooks ...*release.Hook) {
	t.Helper()
	rel := &release.Release{Name: name, Namespace: "ns", Version: v, Manifest: manifest, Hooks: hooks,
		Chart: &chart.Chart{Metadata: &chart.Metadata{Name: chartName, Version: "0.1.0"}},
		Info:  &release.Info{Status: release.StatusDeployed}}
	if err := driver.NewSecrets(cs.CoreV1().Secrets("ns")).Create(releaseKey(name, v), rel); err != nil {
		t.Fatal(err)
	}
}

// TestDeleteJobDeletesRecordsByName (review N1, N13): deleting a job
// deletes the release records of the run chart by name, acts on nothing a
// record lists (a Namespace in its manifest, a pre-delete hook), leaves
// records of another chart alone, and deletes the signing Secret.
func TestDeleteJobDeletesRecordsByName(t *testing.T) {
	const evil = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: victim\n"
	hook := &release.Hook{Name: "cm", Kind: "ConfigMap", Path: "x", Events: []release.HookEvent{release.HookPreDelete},
		Manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: other\n"}
	for name, tc := range map[string]struct {
		dry      run.DryRun
		wantLeft []string
	}{
		"delete": {wantLeft: []string{releaseKey("b", 1), releaseKey("a", 3)}},
		"client dry": {dry: run.DryRunClient, wantLeft: []string{releaseKey("a", 1), releaseKey("a", 2),
			releaseKey("b", 1), releaseKey("a", 3), jobdef.SigningSecretName("a"), jobdef.SecretName("a")}},
	} {
		t.Run(name, func(t *testing.T) {
			cs := jobWithRuns(t)
			putRecord(t, cs, "a", 1, charts.RunChartName, evil)
			putRecord(t, cs, "a", 2, charts.RunChartName, evil, hook)
			putRecord(t, cs, "b", 1, charts.RunChartName, evil)
			// Not ours: an application's release that shares the job's name.
			putRecord(t, cs, "a", 3, "app", evil)
			signing := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: jobdef.SigningSecretName("a"), Namespace: "ns",
				Labels: map[string]string{jobdef.LabelKind: jobdef.KindSigningSecret, jobdef.LabelJob: "a"}}, Type: jobdef.SigningSecretType}
			if _, err := cs.CoreV1().Secrets("ns").Create(t.Context(), signing, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			cs.ClearActions()
			if _, err := New(run.EngineConfig{Client: cs}).DeleteJob(t.Context(), "ns", "a", run.DeleteJobOptions{DryRun: tc.dry}); err != nil {
				t.Fatal(err)
			}
			for _, a := range cs.Actions() {
				if r := a.GetResource().Resource; r != "secrets" && r != "jobs" {
					t.Errorf("delete acted on %s: %v", r, a)
				}
				if a.GetVerb() == "create" || a.GetVerb() == "update" || a.GetVerb() == "patch" || a.GetVerb() == "delete-collection" {
					t.Errorf("delete wrote: %v", a)
				}
			}
			var left []string
			for _, n := range []string{releaseKey("a", 1), releaseKey("a", 2), releaseKey("b", 1), releaseKey("a", 3),
				jobdef.SigningSecretName("a"), jobdef.SecretName("a")} {
				if _, err := cs.CoreV1().Secrets("ns").Get(t.Context(), n, metav1.GetOptions{}); err == nil {
					left = append(left, n)
				}
			}
			if strings.Join(left, " ") != strings.Join(tc.wantLeft, " ") {
				t.Errorf("left %v, want %v", left, tc.wantLeft)
			}
		})
	}
}

// TestDeleteJobDeletesInvalidJobs (review N13): a definition that does not
// pass validation can still be deleted.
func TestDeleteJobDeletesInvalidJobs(t *testing.T) {
	cs := jobWithRuns(t)
	sec, _ := cs.CoreV1().Secrets("ns").Get(t.Context(), jobdef.SecretName("a"), metav1.GetOptions{})
	sec.Data[jobdef.DataKey] = []byte(`{"spec":{"nope":1}}`)
	if _, err := cs.CoreV1().Secrets("ns").Update(t.Context(), sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(run.EngineConfig{Client: cs}).DeleteJob(t.Context(), "ns", "a", run.DeleteJobOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets("ns").Get(t.Context(), jobdef.SecretName("a"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("invalid definition not deleted: %v", err)
	}
}
