package commands

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"github.com/shipjob/kubectl-shipjob/plugin/schedule"
)

func TestLeaderState(t *testing.T) {
	holder, secs := "pod-1", int32(15)
	fresh := metav1.NewMicroTime(time.Now())
	stale := metav1.NewMicroTime(time.Now().Add(-time.Minute))
	lease := func(renew metav1.MicroTime) *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: schedule.HeartbeatLease, Namespace: "ns"},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, RenewTime: &renew}}
	}
	now := time.Now()
	if got := leaderState(t.Context(), fake.NewClientset(), "ns", now); got != "schedules do not run in namespace ns: no hook server has run schedules here" {
		t.Errorf("absent: %q", got)
	}
	if got := leaderState(t.Context(), fake.NewClientset(lease(stale)), "ns", now); !strings.Contains(got, "stopped renewing 60s ago (pod-1)") {
		t.Errorf("stale: %q", got)
	}
	if got := leaderState(t.Context(), fake.NewClientset(lease(fresh)), "ns", now); got != "" {
		t.Errorf("fresh: %q", got)
	}
	// The heartbeat is input: anyone who may update it chooses its holder.
	holder = "pod\x1b]0;owned\x07\nWarning: all good"
	if got := leaderState(t.Context(), fake.NewClientset(lease(stale)), "ns", now); strings.ContainsFunc(got, unicode.IsControl) {
		t.Errorf("a hand-written holder reaches the terminal: %q", got)
	}
}

func TestScheduleView(t *testing.T) {
	j := jobdef.New("ns", "report")
	j.Spec.Schedules = []jobdef.Schedule{{Name: "nightly", Cron: "0 3 * * *", TimeZone: "Europe/Helsinki"}, {Name: "off", Cron: "@hourly", Suspend: true}}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	v := &scheduleView{now: now, local: time.UTC}
	sched, next, zoned := v.cells(j)
	if sched != "nightly=0 3 * * *, off=@hourly (suspended)" || next != "2026-12-08 01:00 UTC" || zoned != "2026-12-08 03:00 EET (Europe/Helsinki)" {
		t.Errorf("cells = %q, %q, %q", sched, next, zoned)
	}
	v.noLeader = "no hook server leads"
	if _, next, _ := v.cells(j); next != "<no leader>" {
		t.Errorf("without a leader NEXT RUN = %q", next)
	}
	v.noLeader = ""
	var out bytes.Buffer
	runs := []run.Status{{Name: "report-a", TriggeredBy: "schedule:nightly", Phase: "Succeeded", Created: now.Add(-time.Hour)},
		{Name: "report-b", TriggeredBy: "user:alice", Created: now}}
	if err := v.printSchedules(&out, j, runs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"starting deadline 1h", "2026-12-08 03:00 EET, 2026-12-09 03:00 EET, 2026-12-10 03:00 EET", "report-a (Succeeded)", "suspended"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("get's schedules lack %q:\n%s", want, out.String())
		}
	}
}
