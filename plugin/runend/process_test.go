package runend

import (
	"net/http/httptest"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/notify"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// TestRunEndNotifiesOnlyItsOutcomesAndItsJob: on: [succeeded] skips a
// failed run; a run of a job deleted and created again is not processed.
func TestRunEndNotifiesOnlyItsOutcomesAndItsJob(t *testing.T) {
	rcv := &receiver{codes: []int{200}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	failed, _ := endedRun("migrate-f", false, "def-uid")
	other, _ := endedRun("migrate-o", true, "an-earlier-uid")
	s := newSetup(t, nil, notify.Options{AllowPrivate: true, AllowInsecure: true}, failed, other)
	s.updateDef(t, func(def *jobdef.Job) {
		def.Spec.Notifications = []jobdef.Notification{{URL: srv.URL, On: []jobdef.Outcome{jobdef.OutcomeSucceeded}}}
	})
	store := &jobdef.Store{Client: s.cs, Namespace: "ns"}
	def, err := store.Get(t.Context(), "migrate")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.EnsureSigningSecret(t.Context(), def, jobdef.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	jobs := s.runUntil(t, "migrate-f")
	if j, _ := s.cs.BatchV1().Jobs("ns").Get(t.Context(), "migrate-o", metav1.GetOptions{}); j.Annotations[run.AnnotationEnded] != "" {
		t.Errorf("a run of an earlier job of the same name was processed: %v", j.Annotations)
	}
	if rcv.count() != 0 {
		t.Errorf("%d notifications, want none", rcv.count())
	}
	for name, j := range jobs {
		if ds := deliveries(t, j); len(ds) != 0 {
			t.Errorf("%s: deliveries %+v, want none", name, ds)
		}
	}
}

// TestRunEndStateIsInput: a hand-edited notifications annotation is
// refused, not trusted (the run is marked ended, nothing sent).
func TestRunEndStateIsInput(t *testing.T) {
	for _, bad := range []string{`{`, `[{"target":0,"state":"sent"}]`, `[{"target":99,"state":"pending"}]`} {
		if _, err := run.ParseDeliveries(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	rcv := &receiver{codes: []int{200}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	j, _ := endedRun("migrate-1", false, "def-uid")
	j.Annotations[run.AnnotationNotifications] = `[{"target":0,"state":"bogus"}]`
	s := newSetup(t, []string{srv.URL}, notify.Options{AllowPrivate: true, AllowInsecure: true}, j)
	s.runUntil(t, "migrate-1")
	if rcv.count() != 0 {
		t.Errorf("sent %d on a hand-edited state", rcv.count())
	}
}

// TestRunEndIgnoresPlantedRuns (review N7): Jobs labelled as runs that are
// not runs of an existing job as it is (a job-uid copied from a real run
// but a privileged template; no job-uid; a job that does not exist) get no
// notification, no Event, no TTL change, no metric series; a real run
// beside them does.
func TestRunEndIgnoresPlantedRuns(t *testing.T) {
	rcv := &receiver{codes: []int{200}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	real, _ := endedRun("migrate-r", true, "def-uid")
	privileged, _ := endedRun("migrate-p", true, "def-uid")
	privileged.Spec.Template.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: new(bool)}
	noUID, _ := endedRun("migrate-n", true, "")
	otherJob, _ := endedRun("random-1", true, "def-uid")
	otherJob.Labels[run.LabelJob] = "random-label-x"
	s := newSetup(t, []string{srv.URL + "/hook"}, notify.Options{AllowPrivate: true, AllowInsecure: true}, privileged, noUID, otherJob, real)
	s.runUntil(t, "migrate-r")
	time.Sleep(200 * time.Millisecond) // the planted ones were seen before or with it: nothing may follow
	if rcv.count() != 1 {
		t.Errorf("%d notifications, want 1 (the real run's)", rcv.count())
	}
	for _, name := range []string{"migrate-p", "migrate-n", "random-1"} {
		j, _ := s.cs.BatchV1().Jobs("ns").Get(t.Context(), name, metav1.GetOptions{})
		if j.Annotations[run.AnnotationEnded] != "" || j.Annotations[run.AnnotationNotifications] != "" || *j.Spec.TTLSecondsAfterFinished != 999 {
			t.Errorf("%s was processed: %v", name, j.Annotations)
		}
	}
	evs, _ := s.cs.CoreV1().Events("ns").List(t.Context(), metav1.ListOptions{})
	if len(evs.Items) != 1 || evs.Items[0].InvolvedObject.Name != "migrate-r" {
		t.Errorf("events %+v, want the real run's only", evs.Items)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s.metrics.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "job" && l.GetValue() != "migrate" {
					t.Errorf("series %s{job=%q}", mf.GetName(), l.GetValue())
				}
			}
		}
		if mf.GetName() == "shipjob_runs_finished_total" && (len(mf.GetMetric()) != 1 || mf.GetMetric()[0].GetCounter().GetValue() != 1) {
			t.Errorf("runs finished: %v, want the real run only", mf.GetMetric())
		}
	}
}
