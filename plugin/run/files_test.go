package run_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

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

func runSecrets(t *testing.T, ft *fakeTrigger, kind string) []corev1.Secret {
	t.Helper()
	l, err := ft.cs.CoreV1().Secrets("ns").List(t.Context(), metav1.ListOptions{LabelSelector: run.LabelKind + "=" + kind})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// TestFilesSharedByContent: runs of a job share one immutable files
// Secret per content, owned by every run that mounts it; a change of the
// files makes another; secret parameter values are in each run's own small
// Secret, owned by it alone, never in the shared one (review N2).
func TestFilesSharedByContent(t *testing.T) {
	withSecret := func(j *jobdef.Job) {
		j.Spec.Parameters = append(j.Spec.Parameters, jobdef.Parameter{Name: "TOKEN", Secret: true, Default: "d"})
	}
	ft := newFakeTrigger(t, 0, jobSecret(t, withSecret))
	var runs []string
	for i := range 4 {
		res, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", Params: map[string]string{"TOKEN": "v" + string(rune('0'+i))}})
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, res.Run)
	}
	files := runSecrets(t, ft, run.KindRunFiles)
	if len(files) != 1 {
		t.Fatalf("%d files Secrets after 4 runs, want 1", len(files))
	}
	f := files[0]
	if !strings.HasPrefix(f.Name, "migrate-files-") || !run.IsFilesSecretName("migrate", runs[0], f.Name) ||
		f.Immutable == nil || !*f.Immutable || string(f.Data["file-0"]) != "x=1" || len(f.Data) != 1 {
		t.Errorf("files Secret %s immutable %v data %v", f.Name, f.Immutable, f.Data)
	}
	if len(f.OwnerReferences) != len(runs) {
		t.Fatalf("files owned by %v, want the 4 runs", f.OwnerReferences)
	}
	owners := map[string]bool{}
	for _, o := range f.OwnerReferences {
		if o.Kind != "Job" || o.UID == "" {
			t.Errorf("owner %+v", o)
		}
		owners[o.Name] = true
	}
	for _, r := range runs {
		if !owners[r] {
			t.Errorf("run %s is not an owner of its files: %v", r, f.OwnerReferences)
		}
	}
	for i, r := range runs {
		if got := filesName(t, ft, r); got != f.Name {
			t.Errorf("run %s mounts %s, want %s", r, got, f.Name)
		}
		p, err := ft.cs.CoreV1().Secrets("ns").Get(t.Context(), run.ParamsSecretName(r), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if string(p.Data["param-TOKEN"]) != "v"+string(rune('0'+i)) || len(p.Data) != 1 || p.Labels[run.LabelKind] != run.KindRunParams ||
			len(p.OwnerReferences) != 1 || p.OwnerReferences[0].Name != r {
			t.Errorf("params of %s: data %q labels %v owners %v", r, p.Data, p.Labels, p.OwnerReferences)
		}
	}
	// Editing the files gives a second Secret; the first stays with its runs.
	def := jobSecret(t, func(j *jobdef.Job) { withSecret(j); j.Spec.Files[0].Content = "x=2" })
	cur, _ := ft.cs.CoreV1().Secrets("ns").Get(t.Context(), def.Name, metav1.GetOptions{})
	def.ResourceVersion = cur.ResourceVersion
	if _, err := ft.cs.CoreV1().Secrets("ns").Update(t.Context(), def, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate"})
	if err != nil {
		t.Fatal(err)
	}
	if n := filesName(t, ft, res.Run); n == f.Name || len(runSecrets(t, ft, run.KindRunFiles)) != 2 {
		t.Errorf("after editing the files the run mounts %s; %d files Secrets, want 2", n, len(runSecrets(t, ft, run.KindRunFiles)))
	}
}

// TestFilesMadeAgainWhenCollected: the files Secret lost its last owner and
// the garbage collector deleted it while a trigger created its Job; the
// trigger ends with the Secret there, owned by its run.
func TestFilesMadeAgainWhenCollected(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobSecret(t, nil))
	first, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate"})
	if err != nil {
		t.Fatal(err)
	}
	name := filesName(t, ft, first.Run)
	ft.cs.PrependReactor("create", "jobs", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
		// The previous run's TTL ended: the collector deletes its files.
		_ = ft.cs.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("secrets"), "ns", name)
		return false, nil, nil
	})
	res, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate"})
	if err != nil || len(res.Warnings) != 0 {
		t.Fatalf("trigger: %v %v", err, res.Warnings)
	}
	s, err := ft.cs.CoreV1().Secrets("ns").Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("files of run %s after the collector deleted them: %v", res.Run, err)
	}
	if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Name != res.Run || string(s.Data["file-0"]) != "x=1" || s.Immutable == nil {
		t.Errorf("files made again: owners %v data %q", s.OwnerReferences, s.Data)
	}
}

// TestFilesOfOtherContentRefused: a Secret that has the files Secret's name
// but other content (made by hand) is never mounted: the trigger fails with
// one line and creates nothing.
func TestFilesOfOtherContentRefused(t *testing.T) {
	def := jobdef.New("ns", "migrate")
	def.Spec.Files = []jobdef.File{{Path: "/etc/app.conf", Content: "x=1"}}
	planted := run.FilesSecret(def)
	planted.Data["file-0"] = []byte("evil")
	planted.CreationTimestamp = metav1.Now() // not old enough for the orphan sweep
	ft := newFakeTrigger(t, 0, jobSecret(t, nil), planted)
	res, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate"})
	if err == nil {
		t.Fatalf("trigger made run %s mounting %s, planted %s", res.Run, filesName(t, ft, res.Run), planted.Name)
	}
	if !strings.Contains(err.Error(), "secret "+planted.Name+" exists but is not the files Secret of job migrate") {
		t.Fatalf("trigger: %v", err)
	}
	if n := ft.creates(); n != 0 {
		t.Errorf("%d Jobs created", n)
	}
	if len(runSecrets(t, ft, run.KindRunParams)) != 0 {
		t.Error("a params Secret was left")
	}
	if _, err := ft.cs.CoreV1().Secrets("ns").Get(t.Context(), planted.Name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		t.Error("the trigger deleted a Secret it did not make")
	}
}
