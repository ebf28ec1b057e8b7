package jobdef

import (
	"strings"
	"testing"
)

func scheduledJob() *Job {
	j := validJob()
	j.Spec.Parameters = []Parameter{
		{Name: "TARGET", Default: "latest", Enum: []string{"latest", "previous"}},
		{Name: "TICKET", Required: true},
		{Name: "N", Type: ParamInteger, Default: "1"},
		{Name: "TOKEN", Secret: true, Default: "x"},
	}
	j.Spec.Schedules = []Schedule{{Name: "nightly", Cron: "0 3 * * *", TimeZone: "Europe/Helsinki",
		Parameters: []ScheduleParam{{Name: "TICKET", Value: "OPS-1"}, {Name: "TOKEN", SecretRef: &SecretKeyRef{Name: "tok", Key: "t"}}}}}
	return j
}

func TestValidateSchedules(t *testing.T) {
	set := func(f func(*Schedule)) func(*Job) { return func(j *Job) { f(&j.Spec.Schedules[0]) } }
	cases := map[string]struct {
		mutate  func(*Job)
		field   string
		wantErr string
	}{
		"valid":              {func(*Job) {}, "", ""},
		"descriptor":         {set(func(s *Schedule) { s.Cron = "@hourly" }), "", ""},
		"every":              {set(func(s *Schedule) { s.Cron = "@every 10s" }), "", ""},
		"every too short":    {set(func(s *Schedule) { s.Cron = "@every 100ms" }), "spec.schedules[0].cron", `schedule "nightly": invalid cron expression "@every 100ms": @every must be whole seconds, at least 1s`},
		"six fields":         {set(func(s *Schedule) { s.Cron = "0 0 3 * * *" }), "spec.schedules[0].cron", `schedule "nightly": invalid cron expression "0 0 3 * * *"`},
		"bad field":          {set(func(s *Schedule) { s.Cron = "61 3 * * *" }), "spec.schedules[0].cron", "invalid cron expression"},
		"empty":              {set(func(s *Schedule) { s.Cron = "" }), "spec.schedules[0].cron", "a cron expression is required"},
		"zone in expression": {set(func(s *Schedule) { s.Cron = "CRON_TZ=UTC 0 3 * * *" }), "spec.schedules[0].cron", "not in the expression"},
		"unknown zone":       {set(func(s *Schedule) { s.TimeZone = "Mars/Olympus" }), "spec.schedules[0].timeZone", `schedule "nightly": unknown time zone "Mars/Olympus"`},
		"local zone":         {set(func(s *Schedule) { s.TimeZone = "Local" }), "spec.schedules[0].timeZone", "the server's"},
		"bad name":           {set(func(s *Schedule) { s.Name = "Nightly" }), "spec.schedules[0].name", `invalid schedule name "Nightly"`},
		"long name":          {set(func(s *Schedule) { s.Name = strings.Repeat("a", 31) }), "spec.schedules[0].name", "at most 30"},
		"twice":              {func(j *Job) { j.Spec.Schedules = append(j.Spec.Schedules, j.Spec.Schedules[0]) }, "spec.schedules[1].name", "given twice"},
		"unknown param":      {set(func(s *Schedule) { s.Parameters = append(s.Parameters, ScheduleParam{Name: "X", Value: "1"}) }), "spec.schedules[0].parameters[2].name", `schedule "nightly": unknown parameter "X"`},
		"missing required":   {set(func(s *Schedule) { s.Parameters = s.Parameters[1:] }), "spec.schedules[0].parameters", `schedule "nightly": missing required parameter "TICKET"`},
		"wrong type":         {set(func(s *Schedule) { s.Parameters = append(s.Parameters, ScheduleParam{Name: "N", Value: "x"}) }), "spec.schedules[0].parameters[2].value", `invalid value "x" for parameter "N": want an integer`},
		"not in enum":        {set(func(s *Schedule) { s.Parameters = append(s.Parameters, ScheduleParam{Name: "TARGET", Value: "x"}) }), "spec.schedules[0].parameters[2].value", "allowed: latest, previous"},
		"secret in clear":    {set(func(s *Schedule) { s.Parameters[1] = ScheduleParam{Name: "TOKEN", Value: "hunter2"} }), "spec.schedules[0].parameters[1]", "give it as a reference"},
		"ref for plain":      {set(func(s *Schedule) { s.Parameters[0].SecretRef = &SecretKeyRef{Name: "a", Key: "b"} }), "spec.schedules[0].parameters[0].secretRef", "is not secret"},
		"bad ref key":        {set(func(s *Schedule) { s.Parameters[1].SecretRef.Key = "a b" }), "spec.schedules[0].parameters[1].secretRef.key", "invalid secret key"},
		"deadline none":      {func(j *Job) { j.Spec.StartingDeadline = "none" }, "", ""},
		"deadline bad":       {func(j *Job) { j.Spec.StartingDeadline = "soon" }, "spec.startingDeadline", "invalid startingDeadline"},
		"too many":           {func(j *Job) { j.Spec.Schedules = make([]Schedule, MaxSchedules+1) }, "spec.schedules", "too many schedules"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			j := scheduledJob()
			c.mutate(j)
			err := j.Validate()
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Validate() = %v, want one line with %q", err, c.wantErr)
			}
			if got := FieldOf(err); got != c.field {
				t.Errorf("field %q, want %q", got, c.field)
			}
		})
	}
}

func TestScheduleRoundTrip(t *testing.T) {
	j := scheduledJob()
	j.Spec.StartingDeadline = "90s"
	j.Spec.Schedules[0].Suspend = true
	sec, err := ToSecret(j)
	if err != nil {
		t.Fatal(err)
	}
	got, err := FromSecret(sec)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.CheckStored(); err != nil {
		t.Fatal(err)
	}
	sc := got.Spec.ScheduleNamed("nightly")
	if sc == nil || !sc.Suspend || sc.TimeZone != "Europe/Helsinki" || sc.Parameters[1].SecretRef.Name != "tok" || got.Spec.StartingDeadline != "90s" {
		t.Fatalf("round trip lost the schedule: %+v", got.Spec)
	}
	// A tampered Secret is an invalid definition.
	sec.Data[DataKey] = []byte(strings.Replace(string(sec.Data[DataKey]), "0 3 * * *", "0 3 * *", 1))
	bad, err := FromSecret(sec)
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.CheckStored(); !IsInvalid(err) || FieldOf(err) != "spec.schedules[0].cron" {
		t.Fatalf("CheckStored of a tampered schedule = %v", err)
	}
}

func TestStartingDeadlineOf(t *testing.T) {
	s := &Spec{}
	if d, ok, err := s.StartingDeadlineOf(); err != nil || !ok || d.String() != "1h0m0s" {
		t.Errorf("default = %v %v %v", d, ok, err)
	}
	s.StartingDeadline = "none"
	if _, ok, err := s.StartingDeadlineOf(); err != nil || ok {
		t.Errorf("none = %v %v", ok, err)
	}
}

func TestDecodeSchedules(t *testing.T) {
	in := `apiVersion: shipjob.dev/v1alpha1
kind: Job
metadata: {name: a}
spec:
  image: busybox
  startingDeadline: 2m
  schedules:
  - name: hourly
    cron: '@hourly'
    timeZone: America/New_York
    suspend: true
`
	jobs, err := Decode(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	jobs[0].SetDefaults()
	if err := jobs[0].Validate(); err != nil {
		t.Fatal(err)
	}
	if s := jobs[0].Spec.Schedules; len(s) != 1 || s[0].Cron != "@hourly" || !s[0].Suspend {
		t.Fatalf("decoded %+v", s)
	}
	if _, err := Decode(strings.NewReader(strings.Replace(in, "timeZone", "timezone", 1))); err == nil {
		t.Error("a field in the wrong case decoded")
	}
}
