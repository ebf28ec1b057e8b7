package commands

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"github.com/shipjob/kubectl-shipjob/plugin/schedule"
)

// scheduleView is what list and get show of schedules: whether a hook
// server leads (schedules run only then) and the clock.
type scheduleView struct {
	// noLeader says why no schedule runs ("" when a hook server leads).
	noLeader string
	now      time.Time
	local    *time.Location
}

// leaderState says why no schedule runs in ns ("" when a hook server
// renews the schedules' heartbeat there, or when the user may not read it).
func leaderState(ctx context.Context, client kubernetes.Interface, ns string, now time.Time) string {
	st, err := schedule.Leading(ctx, client, ns, now)
	if err != nil || st.Leading {
		return ""
	}
	return "schedules do not run in namespace " + ns + ": " + printable(st.Reason)
}

func hasSchedules(jobs []jobdef.Job) bool {
	for _, j := range jobs {
		if len(j.Spec.Schedules) > 0 {
			return true
		}
	}
	return false
}

// newScheduleView reads the leader state when jobs have schedules and says
// on errOut when nothing runs them.
func newScheduleView(ctx context.Context, client kubernetes.Interface, ns string, jobs []jobdef.Job, errOut io.Writer) *scheduleView {
	if !hasSchedules(jobs) {
		return nil
	}
	now := time.Now()
	v := &scheduleView{now: now, local: time.Local, noLeader: leaderState(ctx, client, ns, now)}
	if v.noLeader != "" {
		fmt.Fprintf(errOut, "Warning: %s\n", v.noLeader)
	}
	return v
}

// scheduleColumns are added to the job table when a job has schedules.
var scheduleColumns = []metav1.TableColumnDefinition{
	{Name: "Schedule", Type: "string", Description: "Schedules: NAME=CRON, (suspended) when so"},
	{Name: "Next Run", Type: "string", Description: "The next slot of the job's schedules, in your time zone"},
	{Name: "Next Run (Job Zone)", Type: "string", Priority: 1, Description: "The next slot in the schedule's own time zone"},
}

// addTo adds the schedule columns to t, whose rows are jobs.
func (v *scheduleView) addTo(t *metav1.Table, jobs []jobdef.Job) {
	if v == nil {
		return
	}
	t.ColumnDefinitions = append(append([]metav1.TableColumnDefinition{}, t.ColumnDefinitions...), scheduleColumns...)
	for i := range t.Rows {
		sched, next, zoned := v.cells(&jobs[i])
		t.Rows[i].Cells = append(t.Rows[i].Cells, sched, next, zoned)
	}
}

func (v *scheduleView) cells(j *jobdef.Job) (sched, next, zoned string) {
	if len(j.Spec.Schedules) == 0 {
		return none, none, none
	}
	var names []string
	var first time.Time
	var firstLoc *time.Location
	for _, sc := range j.Spec.Schedules {
		text := sc.Name + "=" + sc.Cron
		if sc.Suspend {
			text += " (suspended)"
		}
		names = append(names, text)
		slots, err := schedule.SlotsOf(sc)
		if err != nil || sc.Suspend {
			continue
		}
		if n := slots.Next(v.now); !n.IsZero() && (first.IsZero() || n.Before(first)) {
			first, firstLoc = n, sc.Location()
		}
	}
	sched = printable(strings.Join(names, ", "))
	switch {
	case j.Status != nil && j.Status.Invalid != "":
		return sched, "<invalid>", "<invalid>"
	case first.IsZero():
		return sched, none, none
	case v.noLeader != "":
		return sched, "<no leader>", "<no leader>"
	}
	return sched, first.In(v.local).Format("2006-01-02 15:04 MST"), first.In(firstLoc).Format("2006-01-02 15:04 MST") + " (" + firstLoc.String() + ")"
}

// printSchedules shows each schedule of j: its expression and zone, its
// next three slots and its last scheduled run.
func (v *scheduleView) printSchedules(out io.Writer, j *jobdef.Job, runs []run.Status) error {
	if v == nil || len(j.Spec.Schedules) == 0 {
		return nil
	}
	deadline := j.Spec.StartingDeadline
	if deadline == "" {
		deadline = jobdef.DefaultStartingDeadline
	}
	fmt.Fprintf(out, "\nSchedules (starting deadline %s):\n", printable(deadline))
	if v.noLeader != "" {
		fmt.Fprintf(out, "  %s\n", v.noLeader)
	}
	w := printers.GetNewTabWriter(out)
	fmt.Fprintln(w, "  NAME\tCRON\tTIME ZONE\tSTATE\tNEXT SLOTS\tLAST SCHEDULED RUN")
	for _, sc := range j.Spec.Schedules {
		state := "active"
		if sc.Suspend {
			state = "suspended"
		}
		var next []string
		if slots, err := schedule.SlotsOf(sc); err == nil && !sc.Suspend {
			at := v.now
			for range 3 {
				if at = slots.Next(at); at.IsZero() {
					break
				}
				next = append(next, at.In(sc.Location()).Format("2006-01-02 15:04 MST"))
			}
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%s\n", sc.Name, printable(sc.Cron), sc.Location(), state,
			orNone(strings.Join(next, ", ")), lastScheduled(runs, sc.Name))
	}
	return w.Flush()
}

// lastScheduled is the newest run triggered by schedule name.
func lastScheduled(runs []run.Status, name string) string {
	var last *run.Status
	for i := range runs {
		if runs[i].TriggeredBy == schedule.TriggeredBy(name) && (last == nil || runs[i].Created.After(last.Created)) {
			last = &runs[i]
		}
	}
	if last == nil {
		return none
	}
	return last.Name + " (" + string(last.Phase) + ")"
}
