package commands

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// scheduleFlags add, change and remove a job's schedules.
type scheduleFlags struct {
	Schedules, TimeZones                 []string
	ScheduleParams, ScheduleSecretParams []string
	StartingDeadline                     string
	UnsetSchedules                       []string
}

func (f *jobFlags) addScheduleFlags(fs *pflag.FlagSet, forSet bool) {
	stringArrayVar(fs, &f.Schedules, "schedule", "", "Run on a schedule NAME='CRON': 5 fields or @hourly, @daily, @every 10s, … (repeatable; the hook server's leader runs it)")
	stringArrayVar(fs, &f.TimeZones, "time-zone", "", "Time zone of a schedule NAME=ZONE, an IANA name like Europe/Helsinki (default UTC)")
	stringArrayVar(fs, &f.ScheduleParams, "schedule-param", "", "Parameter value of a schedule's runs NAME:KEY=VALUE (repeatable)")
	stringArrayVar(fs, &f.ScheduleSecretParams, "schedule-secret-param", "", "Secret parameter of a schedule's runs NAME:KEY=SECRET/KEY, read from that Secret when the slot runs (repeatable)")
	fs.StringVar(&f.StartingDeadline, "starting-deadline", "", "Run a late slot (the server was down) only if this late at most, e.g. 5m, or none (default "+jobdef.DefaultStartingDeadline+"); older ones are recorded as missed")
	if forSet {
		stringArrayVar(fs, &f.UnsetSchedules, "unset-schedule", "", "Remove a schedule (repeatable)")
	}
}

// applySchedules removes, then adds or changes schedules.
func (f *jobFlags) applySchedules(s *jobdef.Spec) error {
	for _, name := range f.UnsetSchedules {
		i := slices.IndexFunc(s.Schedules, func(sc jobdef.Schedule) bool { return sc.Name == name })
		if i < 0 {
			return fmt.Errorf("--unset-schedule: the job has no schedule %q", name)
		}
		s.Schedules = slices.Delete(s.Schedules, i, i+1)
	}
	setIf(f.changed("starting-deadline"), &s.StartingDeadline, f.StartingDeadline)
	seen := seenSet{}
	for _, kv := range f.Schedules {
		name, expr, err := splitPair("--schedule", "NAME='CRON'", kv)
		if err == nil {
			err = seen.add("schedule", name)
		}
		if err != nil {
			return err
		}
		if sc := s.ScheduleNamed(name); sc != nil {
			sc.Cron = expr
		} else {
			s.Schedules = append(s.Schedules, jobdef.Schedule{Name: name, Cron: expr})
		}
	}
	zones := seenSet{}
	for _, kv := range f.TimeZones {
		name, zone, err := splitPair("--time-zone", "NAME=ZONE", kv)
		if err == nil {
			err = zones.add("--time-zone of schedule", name)
		}
		if err != nil {
			return err
		}
		sc, err := scheduleOf(s, "--time-zone", name)
		if err != nil {
			return err
		}
		sc.TimeZone = zone
	}
	return f.applyScheduleParams(s)
}

func (f *jobFlags) applyScheduleParams(s *jobdef.Spec) error {
	seen := seenSet{}
	for _, p := range []struct {
		flag   string
		values []string
	}{{"--schedule-param", f.ScheduleParams}, {"--schedule-secret-param", f.ScheduleSecretParams}} {
		for _, v := range p.values {
			target, value, err := splitPair(p.flag, "NAME:KEY=VALUE", v)
			if err != nil {
				return err
			}
			name, key, ok := strings.Cut(target, ":")
			if !ok || name == "" || key == "" {
				return fmt.Errorf("invalid %s %q: want NAME:KEY=VALUE (the schedule, then the parameter)", p.flag, v)
			}
			if err := seen.add("parameter of schedule "+name, key); err != nil {
				return err
			}
			sc, err := scheduleOf(s, p.flag, name)
			if err != nil {
				return err
			}
			param := jobdef.ScheduleParam{Name: key, Value: value}
			if p.flag == "--schedule-secret-param" {
				secret, skey, ok := strings.Cut(value, "/")
				if !ok || secret == "" || skey == "" {
					return fmt.Errorf("invalid %s %q: want NAME:KEY=SECRET/KEY", p.flag, v)
				}
				param = jobdef.ScheduleParam{Name: key, SecretRef: &jobdef.SecretKeyRef{Name: secret, Key: skey}}
			}
			sc.Parameters = upsert(sc.Parameters, param, func(p jobdef.ScheduleParam) string { return p.Name })
		}
	}
	return nil
}

func scheduleOf(s *jobdef.Spec, flag, name string) (*jobdef.Schedule, error) {
	sc := s.ScheduleNamed(name)
	if sc == nil {
		return nil, fmt.Errorf("%s: the job has no schedule %q: add it with --schedule %s='CRON'", flag, name, name)
	}
	return sc, nil
}
