package commands

import (
	"strings"
	"testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

func TestScheduleFlags(t *testing.T) {
	base := func() *jobdef.Job {
		j := jobdef.New("ns", "report")
		j.Spec.Image = "busybox"
		j.Spec.Parameters = []jobdef.Parameter{{Name: "MONTH", Default: "last"}, {Name: "TOKEN", Secret: true, Default: "x"}}
		j.Spec.Schedules = []jobdef.Schedule{{Name: "old", Cron: "@daily"}}
		return j
	}
	cases := map[string]struct {
		args    []string
		check   func(*jobdef.Spec) bool
		wantErr string
	}{
		"add with zone and params": {args: []string{"--schedule", "nightly=0 3 * * *", "--time-zone", "nightly=Europe/Helsinki",
			"--schedule-param", "nightly:MONTH=this", "--schedule-secret-param", "nightly:TOKEN=tok/t", "--starting-deadline", "5m"},
			check: func(s *jobdef.Spec) bool {
				sc := s.ScheduleNamed("nightly")
				return sc != nil && sc.Cron == "0 3 * * *" && sc.TimeZone == "Europe/Helsinki" && len(sc.Parameters) == 2 &&
					sc.Parameters[0].Value == "this" && sc.Parameters[1].SecretRef.Name == "tok" && s.StartingDeadline == "5m"
			}},
		"change the expression": {args: []string{"--schedule", "old=@hourly"}, check: func(s *jobdef.Spec) bool {
			return len(s.Schedules) == 1 && s.Schedules[0].Cron == "@hourly"
		}},
		"unset":                 {args: []string{"--unset-schedule", "old"}, check: func(s *jobdef.Spec) bool { return len(s.Schedules) == 0 }},
		"unset unknown":         {args: []string{"--unset-schedule", "nope"}, wantErr: `--unset-schedule: the job has no schedule "nope"`},
		"zone of unknown":       {args: []string{"--time-zone", "nope=UTC"}, wantErr: `--time-zone: the job has no schedule "nope": add it with --schedule nope='CRON'`},
		"param without key":     {args: []string{"--schedule-param", "old=1"}, wantErr: "want NAME:KEY=VALUE"},
		"secret param no slash": {args: []string{"--schedule-secret-param", "old:TOKEN=tok"}, wantErr: "want NAME:KEY=SECRET/KEY"},
		"schedule twice":        {args: []string{"--schedule", "a=@daily", "--schedule", "a=@hourly"}, wantErr: `schedule "a" is given twice`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f := parseJobFlags(t, true, c.args...)
			j := base()
			err := f.apply(j)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("apply = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := j.Validate(); err != nil {
				t.Fatal(err)
			}
			if !c.check(&j.Spec) {
				t.Errorf("spec %+v", j.Spec.Schedules)
			}
		})
	}
}

func TestSuspendChange(t *testing.T) {
	j := jobdef.New("ns", "report")
	j.Spec.Schedules = []jobdef.Schedule{{Name: "a", Cron: "@daily"}, {Name: "b", Cron: "@daily", Suspend: true}}
	var changed []string
	c, err := (&SuspendOptions{}).change(j, &changed)
	if err != nil || len(changed) != 1 || changed[0] != "a" || !c.Spec.Schedules[0].Suspend || j.Spec.Schedules[0].Suspend {
		t.Fatalf("suspend: %v %v %+v", err, changed, c.Spec.Schedules)
	}
	changed = nil
	if _, err := (&SuspendOptions{Resume: true, Schedule: "b"}).change(j, &changed); err != nil || len(changed) != 1 || changed[0] != "b" {
		t.Fatalf("resume b: %v %v", err, changed)
	}
	if _, err := (&SuspendOptions{Schedule: "c"}).change(j, &changed); err == nil || !strings.Contains(err.Error(), `no schedule "c"`) {
		t.Fatalf("unknown schedule: %v", err)
	}
	j.Spec.Schedules = nil
	if _, err := (&SuspendOptions{}).change(j, &changed); err == nil || !strings.Contains(err.Error(), "has no schedules") {
		t.Fatalf("no schedules: %v", err)
	}
}
