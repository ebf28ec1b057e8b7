package ui

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// specFields are the job form's fields beyond image, resources, env,
// parameters' names and defaults, files and schedules: what a run is
// (command, tasks), when a trigger is refused (concurrency and limits),
// what is kept (retention by outcome, history bounds) and who is told
// (notifications). Counts are text: "" is "unset" (the default), which
// is not 0 for the limits.
type specFields struct {
	Labels           string // "team=db, tier=batch"
	Digest           string
	AllowTagOverride bool
	Command, Args    string // one per line
	EnvFromSecrets   string // "a, b"
	RequestsMemory   string
	RequestsCPU      string
	RetentionFailed  string
	Tasks            string
	Parallelism      string
	Concurrency      string
	MaxActiveRuns    string
	MaxRunsPerMinute string
	SucceededHistory string
	FailedHistory    string
	Notifications    []notifRow
	// Outcomes and ParamTypes are what the selects offer.
	Outcomes   []jobdef.Outcome
	ParamTypes []string
}

// notifRow is a notification: its URL, the outcomes it is on (none: all)
// and its body format ("": json).
type notifRow struct {
	URL, Format string
	On          []jobdef.Outcome
	Error       string
}

// Has reports whether the row is on outcome o (the template's checkboxes).
func (n notifRow) Has(o jobdef.Outcome) bool { return slices.Contains(n.On, o) }

// paramTypes are the types a parameter may have; "" is string.
var paramTypes = []string{jobdef.ParamInteger, jobdef.ParamNumber, jobdef.ParamBoolean}

func specFieldsOf(j *jobdef.Job) specFields {
	s := &j.Spec
	f := specFields{Labels: joinLabels(j.Labels), Digest: s.Digest, AllowTagOverride: s.AllowTagOverride,
		Command: strings.Join(s.Command, "\n"), Args: strings.Join(s.Args, "\n"),
		EnvFromSecrets: strings.Join(s.EnvFromSecrets, ", "), RequestsMemory: s.Resources.RequestsMemory,
		RequestsCPU: s.Resources.RequestsCPU, RetentionFailed: s.RetentionFailed,
		Tasks: countText(s.Tasks), Parallelism: countText(s.Parallelism), Concurrency: string(s.ConcurrencyPolicy),
		MaxActiveRuns: limitText(s.MaxActiveRuns), MaxRunsPerMinute: limitText(s.MaxRunsPerMinute),
		SucceededHistory: limitText(s.SucceededRunsHistoryLimit), FailedHistory: limitText(s.FailedRunsHistoryLimit)}
	for _, n := range s.Notifications {
		f.Notifications = append(f.Notifications, notifRow{URL: n.URL, Format: n.Format, On: n.On})
	}
	return f
}

func parseSpecFields(r *http.Request) specFields {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := specFields{Labels: v("labels"), Digest: v("digest"), AllowTagOverride: v("allowTagOverride") != "",
		Command: r.PostFormValue("command"), Args: r.PostFormValue("args"), EnvFromSecrets: v("envFromSecrets"),
		RequestsMemory: v("requestsMemory"), RequestsCPU: v("requestsCPU"), RetentionFailed: v("retentionFailed"),
		Tasks: v("tasks"), Parallelism: v("parallelism"), Concurrency: v("concurrencyPolicy"),
		MaxActiveRuns: v("maxActiveRuns"), MaxRunsPerMinute: v("maxRunsPerMinute"),
		SucceededHistory: v("succeededRunsHistoryLimit"), FailedHistory: v("failedRunsHistoryLimit")}
	for i := 0; r.PostForm.Has(fmt.Sprintf("notif.%d.url", i)); i++ {
		pre := fmt.Sprintf("notif.%d.", i)
		n := notifRow{URL: v(pre + "url"), Format: v(pre + "format")}
		for _, o := range jobdef.Outcomes {
			if v(pre+"on."+string(o)) != "" {
				n.On = append(n.On, o)
			}
		}
		if n.URL != "" || n.Format != "" || len(n.On) > 0 {
			f.Notifications = append(f.Notifications, n)
		}
	}
	return f
}

// applySpecFields writes f into j (digest and allowTagOverride are
// written with the image); numbers that are no numbers go to errs.
func (f *specFields) applySpecFields(j *jobdef.Job, errs map[string]string) {
	s := &j.Spec
	labels, err := splitLabels(f.Labels)
	if err != nil {
		errs["metadata.labels"] = err.Error()
	}
	j.Labels = labels
	s.Command, s.Args = lines(f.Command), lines(f.Args)
	s.EnvFromSecrets = splitList(f.EnvFromSecrets)
	s.Resources.RequestsMemory, s.Resources.RequestsCPU = f.RequestsMemory, f.RequestsCPU
	s.RetentionFailed, s.ConcurrencyPolicy = f.RetentionFailed, jobdef.ConcurrencyPolicy(f.Concurrency)
	s.Tasks = count(f.Tasks, "spec.tasks", "tasks", errs)
	s.Parallelism = count(f.Parallelism, "spec.parallelism", "parallelism", errs)
	s.MaxActiveRuns = limit(f.MaxActiveRuns, "spec.maxActiveRuns", "max active runs", errs)
	s.MaxRunsPerMinute = limit(f.MaxRunsPerMinute, "spec.maxRunsPerMinute", "max runs per minute", errs)
	s.SucceededRunsHistoryLimit = limit(f.SucceededHistory, "spec.succeededRunsHistoryLimit", "succeeded runs kept", errs)
	s.FailedRunsHistoryLimit = limit(f.FailedHistory, "spec.failedRunsHistoryLimit", "failed runs kept", errs)
	stored := s.Notifications
	s.Notifications = nil
	for _, n := range f.Notifications {
		on := n.On
		// The same outcomes in another order are kept as stored.
		for _, old := range stored {
			if old.URL == n.URL && sameOutcomes(old.On, on) {
				on = old.On
			}
		}
		s.Notifications = append(s.Notifications, jobdef.Notification{URL: n.URL, On: on, Format: n.Format})
	}
}

// finishSpec adds the blank notification row and the selects' options.
func (f *specFields) finishSpec() {
	f.Notifications = append(f.Notifications, notifRow{})
	f.Outcomes, f.ParamTypes = jobdef.Outcomes, paramTypes
}

func sameOutcomes(a, b []jobdef.Outcome) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(o jobdef.Outcome) bool { return !slices.Contains(b, o) })
}

func countText(n int32) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(int(n))
}

func limitText(n *int32) string {
	if n == nil {
		return ""
	}
	return strconv.Itoa(int(*n))
}

func count(s, field, what string, errs map[string]string) int32 {
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		errs[field] = fmt.Sprintf("invalid %s %q: want a whole number", what, s)
	}
	return int32(n)
}

func limit(s, field, what string, errs map[string]string) *int32 {
	if s == "" {
		return nil
	}
	n := count(s, field, what, errs)
	return &n
}

// lines splits a textarea into its lines (a browser sends CRLF); one
// trailing line break is not an empty last line.
func lines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func joinLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ", ")
}

func splitLabels(s string) (map[string]string, error) {
	var m map[string]string
	for _, kv := range splitList(s) {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			return m, fmt.Errorf("invalid label %q: want key=value", kv)
		}
		if m == nil {
			m = map[string]string{}
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	return m, nil
}

// numInput is a number field of the form (templates' "numfield").
type numInput struct{ ID, Label, Value, Help, Error string }

// Num describes a number field: its error in errs under field, its input
// id (also its form name), label, value and help.
func (f *specFields) Num(errs map[string]string, field, id, label, value, help string) numInput {
	return numInput{ID: id, Label: label, Value: value, Help: help, Error: errs[field]}
}

// OtherConcurrency reports a stored policy the select does not offer (it
// is shown as is, so that validation names it).
func (f *specFields) OtherConcurrency() bool {
	return !slices.Contains([]string{"", "Allow", "Forbid", "Replace"}, f.Concurrency)
}

// OtherFormat reports a stored format the select does not offer.
func (n notifRow) OtherFormat() bool {
	return !slices.Contains([]string{"", "json", "slack"}, n.Format)
}
