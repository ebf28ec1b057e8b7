package ui

import (
	"context"
	"net/http"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"github.com/shipjob/kubectl-shipjob/plugin/schedule"
)

// nextSlots is how many next slots the job page shows per schedule.
const nextSlots = 3

// slotTime is a slot as shown: At (the browser shows it in the viewer's
// local time), Zoned in the schedule's zone (the fallback text and the
// tooltip).
type slotTime struct {
	At    time.Time
	Zoned string
}

// schedView is a schedule on the job page.
type schedView struct {
	Name, Cron, Zone string
	Suspend          bool
	Next             []slotTime
	// Last is the newest run the schedule triggered (nil: none yet).
	Last *run.Status
	// Invalid is why the expression gives no slots ("" when it does).
	Invalid string
}

// leaderOf says whether a hook server runs the schedules of ns; it is
// only asked (one Lease GET) when some job there has schedules. An error
// counts as leading: nothing honest to say.
func (s *Server) leaderOf(ctx context.Context, ns string, jobs []jobdef.Job) *schedule.LeaderState {
	for _, j := range jobs {
		if len(j.Spec.Schedules) > 0 {
			st, _ := schedule.Leading(ctx, s.client(ctx), ns, time.Now())
			return &st
		}
	}
	return nil
}

func slotOf(t time.Time, loc *time.Location) slotTime {
	return slotTime{At: t, Zoned: t.In(loc).Format("2006-01-02 15:04 MST") + " (" + loc.String() + ")"}
}

// nextRun is the first slot of j's active schedules after now.
func nextRun(j *jobdef.Job, now time.Time) *slotTime {
	var first *slotTime
	for _, sc := range j.Spec.Schedules {
		slots, err := schedule.SlotsOf(sc)
		if err != nil || sc.Suspend {
			continue
		}
		if n := slots.Next(now); !n.IsZero() && (first == nil || n.Before(first.At)) {
			st := slotOf(n, sc.Location())
			first = &st
		}
	}
	return first
}

// schedViews shows each schedule of j with its next slots and its last
// scheduled run among runs.
func schedViews(j *jobdef.Job, runs []run.Status, now time.Time) []schedView {
	var out []schedView
	for _, sc := range j.Spec.Schedules {
		v := schedView{Name: sc.Name, Cron: sc.Cron, Zone: sc.Location().String(), Suspend: sc.Suspend}
		slots, err := schedule.SlotsOf(sc)
		if err != nil {
			v.Invalid = err.Error()
		}
		for at := now; err == nil && !sc.Suspend && len(v.Next) < nextSlots; {
			if at = slots.Next(at); at.IsZero() {
				break
			}
			v.Next = append(v.Next, slotOf(at, sc.Location()))
		}
		for i := range runs {
			if runs[i].TriggeredBy == schedule.TriggeredBy(sc.Name) && (v.Last == nil || runs[i].Created.After(v.Last.Created)) {
				v.Last = &runs[i]
			}
		}
		out = append(out, v)
	}
	return out
}

// jobSchedules is the schedules part of the job page.
type jobSchedules struct {
	Views    []schedView
	Leader   *schedule.LeaderState
	Deadline string
	// CanUpdate: the user may update the job (suspend/resume buttons).
	CanUpdate bool
}

func (s *Server) jobSchedules(ctx context.Context, p *page, runs []run.Status) *jobSchedules {
	if len(p.Job.Spec.Schedules) == 0 {
		return nil
	}
	d := p.Job.Spec.StartingDeadline
	if d == "" {
		d = jobdef.DefaultStartingDeadline
	}
	return &jobSchedules{Views: schedViews(p.Job, runs, p.Now), Leader: s.leaderOf(ctx, p.Namespace, []jobdef.Job{*p.Job}),
		Deadline: d, CanUpdate: s.mayUpdate(ctx, p.Namespace, p.Job.Name)}
}

// mayUpdate asks the API server whether the user may update the job's
// definition; when it cannot say, the buttons show and the API decides.
func (s *Server) mayUpdate(ctx context.Context, ns, job string) bool {
	rev := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "update", Resource: "secrets",
			Name: jobdef.SecretName(job)}}}
	got, err := s.client(ctx).AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, rev, metav1.CreateOptions{})
	return err != nil || got.Status.Allowed
}

// scheduleSuspend suspends (or resumes) one schedule of the job.
func (s *Server) scheduleSuspend(w http.ResponseWriter, r *http.Request, suspend bool) {
	p, ok := s.jobPage(w, r, "runs")
	if !ok {
		return
	}
	name := r.PathValue("schedule")
	j := p.Job.DeepCopy()
	sc := j.Spec.ScheduleNamed(name)
	if sc == nil {
		s.notFound(w, r)
		return
	}
	verb := map[bool]string{true: "suspended", false: "resumed"}[suspend]
	if sc.Suspend != suspend {
		sc.Suspend = suspend
		if _, err := s.store(r.Context(), p.Namespace).Update(r.Context(), j, writeOpts); err != nil {
			s.fail(w, r, p, err)
			return
		}
	}
	http.Redirect(w, r, "/namespaces/"+p.Namespace+"/jobs/"+j.Name+"?"+verb+"="+name, http.StatusSeeOther)
}

func (s *Server) scheduleSuspendPost(w http.ResponseWriter, r *http.Request) {
	s.scheduleSuspend(w, r, true)
}
func (s *Server) scheduleResumePost(w http.ResponseWriter, r *http.Request) {
	s.scheduleSuspend(w, r, false)
}
