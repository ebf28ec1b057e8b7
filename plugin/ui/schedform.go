package ui

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// commonZones are offered in the time zone input's datalist; any IANA
// name is accepted (validated server-side).
var commonZones = []string{"UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Helsinki",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo",
	"Asia/Tokyo", "Asia/Shanghai", "Asia/Kolkata", "Asia/Singapore", "Australia/Sydney"}

// schedRow is a schedule in the job form.
type schedRow struct {
	Name, Cron, TimeZone string
	Suspend              bool
	// Params has one input per parameter of the job (and any value given
	// for a parameter the job no longer has, so that its error shows).
	Params []schedParam
	// Errors are the row's field errors: "name", "cron", "timeZone",
	// "parameters".
	Errors map[string]string
	// given maps the definition's parameter index to Params' index.
	given []int
}

// schedParam is the value a schedule gives one parameter: Value, or for
// a secret parameter a Secret name and key (never a value in clear).
type schedParam struct {
	Name, Value           string
	SecretName, SecretKey string
	// From the job's parameter: "text", "number", "select" (Enum) or
	// "secret".
	Kind  string
	Enum  []string
	Error string
}

// scheduleRows shows the schedules of j.
func scheduleRows(s *jobdef.Spec) []schedRow {
	var rows []schedRow
	for _, sc := range s.Schedules {
		r := schedRow{Name: sc.Name, Cron: sc.Cron, TimeZone: sc.TimeZone, Suspend: sc.Suspend}
		for _, p := range sc.Parameters {
			sp := schedParam{Name: p.Name, Value: p.Value}
			if p.SecretRef != nil {
				sp.SecretName, sp.SecretKey = p.SecretRef.Name, p.SecretRef.Key
			}
			r.Params = append(r.Params, sp)
		}
		rows = append(rows, r)
	}
	describeRows(rows, s.Parameters)
	return rows
}

// describeRows gives each row an input per parameter of the job, typed
// as the Run tab types it.
func describeRows(rows []schedRow, params []jobdef.Parameter) {
	for i := range rows {
		describeRow(&rows[i], params)
	}
}

func describeRow(r *schedRow, params []jobdef.Parameter) {
	for _, prm := range params {
		k := -1
		for i := range r.Params {
			if r.Params[i].Name == prm.Name {
				k = i
			}
		}
		if k < 0 {
			r.Params = append(r.Params, schedParam{Name: prm.Name})
			k = len(r.Params) - 1
		}
		sp := &r.Params[k]
		sp.Kind, sp.Enum = "text", prm.Enum
		switch {
		case prm.Secret:
			sp.Kind = "secret"
		case len(prm.Enum) > 0:
			sp.Kind = "select"
		case prm.TypeName() == jobdef.ParamBoolean:
			sp.Kind, sp.Enum = "select", []string{"true", "false"}
		case prm.TypeName() == jobdef.ParamInteger || prm.TypeName() == jobdef.ParamNumber:
			sp.Kind = "number"
		}
	}
	if r.Errors == nil {
		r.Errors = map[string]string{}
	}
}

// parseSchedules reads the schedule rows of a submitted form; a removed
// row and a blank one are left out.
func parseSchedules(r *http.Request) []schedRow {
	v := r.PostFormValue
	var rows []schedRow
	for i := 0; r.PostForm.Has(fmt.Sprintf("sched.%d.name", i)); i++ {
		pre := fmt.Sprintf("sched.%d.", i)
		if v(pre+"remove") != "" {
			continue
		}
		row := schedRow{Name: strings.TrimSpace(v(pre + "name")), Cron: strings.TrimSpace(v(pre + "cron")),
			TimeZone: strings.TrimSpace(v(pre + "zone")), Suspend: v(pre+"suspend") != "", Errors: map[string]string{}}
		blank := row.Name == "" && row.Cron == "" && row.TimeZone == ""
		for k := 0; r.PostForm.Has(fmt.Sprintf("%sp.%d.name", pre, k)); k++ {
			pp := fmt.Sprintf("%sp.%d.", pre, k)
			sp := schedParam{Name: strings.TrimSpace(v(pp + "name")), Value: v(pp + "value"),
				SecretName: strings.TrimSpace(v(pp + "secretName")), SecretKey: strings.TrimSpace(v(pp + "secretKey"))}
			blank = blank && sp.Value == "" && sp.SecretName == "" && sp.SecretKey == ""
			row.Params = append(row.Params, sp)
		}
		if !blank {
			rows = append(rows, row)
		}
	}
	return rows
}

// applySchedules writes the form's schedules and starting deadline into
// j, whose parameters are already the form's.
func (f *jobForm) applySchedules(j *jobdef.Job) {
	j.Spec.StartingDeadline, j.Spec.Schedules = f.StartingDeadline, nil
	for i := range f.Schedules {
		row := &f.Schedules[i]
		sc := jobdef.Schedule{Name: row.Name, Cron: row.Cron, TimeZone: row.TimeZone, Suspend: row.Suspend}
		row.given = nil
		for k, p := range row.Params {
			switch {
			case p.SecretName != "" || p.SecretKey != "":
				sc.Parameters = append(sc.Parameters, jobdef.ScheduleParam{Name: p.Name,
					SecretRef: &jobdef.SecretKeyRef{Name: p.SecretName, Key: p.SecretKey}})
			case p.Value != "":
				sc.Parameters = append(sc.Parameters, jobdef.ScheduleParam{Name: p.Name, Value: p.Value})
			default:
				continue // not given: the parameter's default
			}
			row.given = append(row.given, k)
		}
		j.Spec.Schedules = append(j.Spec.Schedules, sc)
	}
	f.paramDefs = j.Spec.Parameters
	describeRows(f.Schedules, f.paramDefs)
}

var schedField = regexp.MustCompile(`^spec\.schedules\[(\d+)\](?:\.parameters\[(\d+)\])?(?:\.(name|cron|timeZone))?`)

// scheduleError puts the error of field (spec.schedules[i]…) on its row.
func (f *jobForm) scheduleError(field, msg string) bool {
	m := schedField.FindStringSubmatch(field)
	if m == nil {
		return false
	}
	i, _ := strconv.Atoi(m[1])
	if i >= len(f.Schedules) {
		return false
	}
	row := &f.Schedules[i]
	if row.Errors == nil {
		row.Errors = map[string]string{}
	}
	if m[2] != "" {
		if k, _ := strconv.Atoi(m[2]); k < len(row.given) && row.given[k] < len(row.Params) {
			row.Params[row.given[k]].Error = msg
			return true
		}
		row.Errors["parameters"] = msg
		return true
	}
	if m[3] != "" {
		row.Errors[m[3]] = msg
		return true
	}
	row.Errors["parameters"] = msg
	return true
}
