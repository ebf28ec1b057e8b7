package run

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// podServer answers pod lists from pods as the API server does (label and
// status.phase field selectors, limit) and records every list.
type podServer struct {
	pods  []corev1.Pod
	lists []metav1.ListOptions
}

func (s *podServer) react(a k8stesting.Action) (bool, k8sruntime.Object, error) {
	l := a.(k8stesting.ListActionImpl)
	opts := metav1.ListOptions{LabelSelector: l.ListRestrictions.Labels.String(), FieldSelector: l.ListRestrictions.Fields.String()}
	if r, ok := a.(interface{ GetListOptions() metav1.ListOptions }); ok {
		opts.Limit = r.GetListOptions().Limit
	}
	s.lists = append(s.lists, opts)
	out := &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "7"}}
	for _, p := range s.pods {
		if !l.ListRestrictions.Labels.Matches(labels.Set(p.Labels)) ||
			!l.ListRestrictions.Fields.Matches(fields.Set{"status.phase": string(p.Status.Phase)}) {
			continue
		}
		if opts.Limit > 0 && int64(len(out.Items)) == opts.Limit {
			break
		}
		out.Items = append(out.Items, p)
	}
	return true, out, nil
}

// wideRun is a run of 1000 tasks: 40 succeeded, tasks 7 and 9 failed.
func wideRun(mutate func(*batchv1.Job)) (*batchv1.Job, *podServer) {
	now := time.Now()
	j := indexedJob(1000, 40)
	j.Namespace, j.Name = "ns", "wide-0000000000"
	j.Labels = map[string]string{LabelKind: KindRun, LabelJob: "wide", LabelRun: j.Name}
	if mutate != nil {
		mutate(j)
	}
	s := &podServer{}
	for i := range 60 {
		code := int32(0)
		if i == 7 || i == 9 {
			code = int32(i - 4)
		}
		p := taskPod(fmt.Sprint(i), code, now.Add(time.Duration(-i)*time.Second))
		p.Name = fmt.Sprintf("%s-%d", j.Name, i)
		p.Labels = map[string]string{LabelRun: j.Name, batchv1.JobCompletionIndexAnnotation: fmt.Sprint(i)}
		s.pods = append(s.pods, p)
	}
	return j, s
}

// TestIndexedStatusListsFewPods: the status of a run of many tasks comes
// from its Job's status; a status read lists at most maxStatusPods pods,
// selected by phase (and by the failed index), never every task (N6).
func TestIndexedStatusListsFewPods(t *testing.T) {
	failed := func(j *batchv1.Job) {
		j.Status.Failed, j.Status.FailedIndexes = 2, ptr("7,9")
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "FailedIndexes"}}
	}
	running := func(j *batchv1.Job) { j.Status.Active, j.Status.Ready = 10, ptr(int32(10)) }
	done := func(j *batchv1.Job) {
		j.Status.Succeeded = 1000
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	}
	cases := map[string]struct {
		mutate          func(*batchv1.Job)
		phase           Phase
		message, fields string
	}{
		"failed":    {failed, Failed, "Exit code 3 (task 7); 40/1000 tasks succeeded", "status.phase=Failed"},
		"running":   {running, Running, "40/1000 tasks succeeded", "status.phase=Pending"},
		"succeeded": {done, Succeeded, "(1000 tasks)", "status.phase=Succeeded"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			job, srv := wideRun(tc.mutate)
			cs := fake.NewClientset(job)
			cs.PrependReactor("list", "pods", srv.react)
			st, err := Get(t.Context(), cs, "ns", job.Name)
			if err != nil {
				t.Fatal(err)
			}
			if st.Phase != tc.phase || !strings.HasSuffix(st.Message, tc.message) || st.Tasks != 1000 {
				t.Errorf("status %s %q (tasks %d), want %s %q", st.Phase, st.Message, st.Tasks, tc.phase, tc.message)
			}
			if len(srv.lists) != 1 {
				t.Fatalf("%d pod lists, want 1", len(srv.lists))
			}
			l := srv.lists[0]
			if l.Limit < 1 || l.Limit > maxStatusPods || l.FieldSelector != tc.fields {
				t.Errorf("pod list %+v: want a limit of at most %d and field selector %s", l, maxStatusPods, tc.fields)
			}
			if name == "failed" && !strings.Contains(l.LabelSelector, batchv1.JobCompletionIndexAnnotation+"=7") {
				t.Errorf("failed run: pods selected by %q, want the first failed index's", l.LabelSelector)
			}
			if len(st.Pods) > maxStatusPods {
				t.Errorf("status names %d pods", len(st.Pods))
			}
		})
	}
}

// TestIndexedRunsListedWithoutTheirPods: `runs` shows runs of several
// tasks from their Jobs' status and never lists their pods.
func TestIndexedRunsListedWithoutTheirPods(t *testing.T) {
	job, srv := wideRun(func(j *batchv1.Job) { j.Status.Active = 10 })
	cs := fake.NewClientset(job)
	cs.PrependReactor("list", "pods", srv.react)
	runs, err := List(t.Context(), cs, "ns", "wide")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Phase != Running || runs[0].Message != "40/1000 tasks succeeded" {
		t.Errorf("runs %+v", runs)
	}
	if len(srv.lists) != 0 {
		t.Errorf("listed pods %+v", srv.lists)
	}
}

func ptr[T any](v T) *T { return &v }

// TestLogsOfOneTaskListOnlyItsPods: logs --task lists the pods of that
// task alone (by its completion index label) and prints only them.
func TestLogsOfOneTaskListOnlyItsPods(t *testing.T) {
	job, srv := wideRun(func(j *batchv1.Job) {
		j.Status.Succeeded = 1000
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
		// A run of job wide as it exists (logs act on verified runs only).
		j.Annotations = map[string]string{AnnotationJobUID: "uid-wide", AnnotationReleaseName: "wide", AnnotationReleaseNamespace: "ns"}
		j.Spec.Template.Spec.Containers = []corev1.Container{{Name: "job", Image: "example.com/wide:1"}}
	})
	def := jobdef.New("ns", "wide")
	def.Spec.Image = "example.com/wide"
	defSecret, err := jobdef.ToSecret(def)
	if err != nil {
		t.Fatal(err)
	}
	defSecret.UID = "uid-wide"
	objs := []k8sruntime.Object{job, defSecret}
	for i := range srv.pods {
		objs = append(objs, &srv.pods[i])
	}
	cs := fake.NewClientset(objs...)
	cs.PrependReactor("list", "pods", srv.react)
	var out strings.Builder
	task := int32(12)
	if err := Logs(t.Context(), cs, "ns", job.Name, LogOptions{Task: &task}, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "[task 12] "+fakeLog {
		t.Errorf("printed %q", out.String())
	}
	for _, l := range srv.lists {
		if l.Limit == 0 && !strings.Contains(l.LabelSelector, batchv1.JobCompletionIndexAnnotation+"=12") {
			t.Errorf("an unbounded pod list of every task: %+v", l)
		}
	}
}

// TestFailedIndexedRunListedWithItsExitCode: `runs` shows a failed run of
// many tasks with the exit code of its first failed index, from one
// bounded pod list.
func TestFailedIndexedRunListedWithItsExitCode(t *testing.T) {
	job, srv := wideRun(func(j *batchv1.Job) {
		j.Status.Failed, j.Status.FailedIndexes = 2, ptr("7,9")
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "FailedIndexes"}}
	})
	job.UID = "u1"
	for i := range srv.pods {
		srv.pods[i].OwnerReferences = []metav1.OwnerReference{{Kind: "Job", Name: job.Name, UID: job.UID}}
	}
	cs := fake.NewClientset(job)
	cs.PrependReactor("list", "pods", srv.react)
	runs, err := List(t.Context(), cs, "ns", "wide")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Message != "Exit code 3 (task 7); 40/1000 tasks succeeded" {
		t.Errorf("runs %+v", runs)
	}
	if len(srv.lists) != 1 || srv.lists[0].Limit == 0 || srv.lists[0].Limit > maxStatusPods {
		t.Errorf("pod lists %+v, want one bounded", srv.lists)
	}
}

// TestEndStatusReadsPodsOfFailedRunsOnly: the run-end leader's status of a
// completed run is the one StatusOf gives (its pods add only their names)
// without listing its pods; a failed run's still gets its exit code from
// them.
func TestEndStatusReadsPodsOfFailedRunsOnly(t *testing.T) {
	now := time.Now()
	start, end := metav1.NewTime(now.Add(-time.Minute)), metav1.NewTime(now.Add(-time.Second))
	for _, tc := range []struct {
		name      string
		cond      batchv1.JobConditionType
		exit      int32
		wantLists int
	}{
		{"completed", batchv1.JobComplete, 0, 0},
		{"failed", batchv1.JobFailed, 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "m-0000000001",
				Labels: map[string]string{LabelKind: KindRun, LabelJob: "m", LabelRun: "m-0000000001"}}}
			job.Status.StartTime, job.Status.CompletionTime = &start, &end
			job.Status.Conditions = []batchv1.JobCondition{{Type: tc.cond, Status: corev1.ConditionTrue, LastTransitionTime: end}}
			pod := taskPod("0", tc.exit, end.Time)
			pod.Name, pod.Labels = "m-0000000001-abcde", map[string]string{LabelRun: job.Name, "batch.kubernetes.io/job-name": job.Name, "job-name": job.Name}
			srv := &podServer{pods: []corev1.Pod{pod}}
			cs := fake.NewClientset(job)
			cs.PrependReactor("list", "pods", srv.react)
			full, err := StatusOf(t.Context(), cs, job)
			if err != nil {
				t.Fatal(err)
			}
			srv.lists = nil
			got, err := EndStatus(t.Context(), cs, job)
			if err != nil {
				t.Fatal(err)
			}
			if len(srv.lists) != tc.wantLists {
				t.Errorf("pod lists %d, want %d", len(srv.lists), tc.wantLists)
			}
			if got.ExitCode == nil || *got.ExitCode != tc.exit || full.ExitCode == nil || *full.ExitCode != tc.exit {
				t.Fatalf("exit code: end %v, full %v, want %d", got.ExitCode, full.ExitCode, tc.exit)
			}
			full.Pods, got.Pods = nil, nil
			full.ExitCode, got.ExitCode = nil, nil
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", full) {
				t.Errorf("EndStatus %+v\nStatusOf  %+v", got, full)
			}
		})
	}
}
