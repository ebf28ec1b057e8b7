package commands

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// jobColumns are the table columns of list and get; priority 1 is shown
// with -o wide only.
var jobColumns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name of the job"},
	{Name: "Image", Type: "string", Description: "Image runs pull (registry in parentheses)"},
	{Name: "Last Run", Type: "string", Description: "Time since the last run was triggered"},
	{Name: "Status", Type: "string", Description: "Phase of the last run"},
	{Name: "Age", Type: "string", Description: "Time since the job was created"},
	{Name: "Description", Type: "string", Priority: 1},
	{Name: "Params", Type: "string", Priority: 1, Description: "Parameters with their defaults"},
	{Name: "Timeout", Type: "string", Priority: 1},
	{Name: "Retention", Type: "string", Priority: 1, Description: "Retention of finished runs (of failed and cancelled ones in parentheses, when it differs)"},
	{Name: "Notify", Type: "string", Priority: 1, Description: "Webhooks told when a run ends (their URLs: get -o yaml)"},
	{Name: "Limits", Type: "string", Priority: 1, Description: "Finished runs kept at most (succeededRunsHistoryLimit/failedRunsHistoryLimit) and the trigger rate (maxRunsPerMinute)"},
}

const none = "<none>"

// jobTable is the metav1.Table that list and get print by default.
func jobTable(jobs []jobdef.Job, now time.Time) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: jobColumns, Rows: make([]metav1.TableRow, 0, len(jobs))}
	for i := range jobs {
		j := &jobs[i]
		lastRun, status := none, none
		if j.Status != nil && j.Status.LastRun != "" {
			status = j.Status.LastRunStatus
			if j.Status.LastRunStarted != nil {
				lastRun = age(*j.Status.LastRunStarted, now)
			}
		}
		if j.Status != nil && j.Status.Invalid != "" {
			status = "Invalid"
		}
		t.Rows = append(t.Rows, metav1.TableRow{
			// A definition may have been edited by hand: no control
			// characters reach the terminal.
			Cells: []any{j.Name, printable(imageText(j.Spec)), lastRun, status, age(j.CreationTimestamp, now),
				printable(orNone(j.Spec.Description)), printable(orNone(paramsText(j.Spec.Parameters))),
				printable(j.Spec.Timeout), printable(retentionText(j.Spec)), notifyText(j.Spec), keepsText(j.Spec)},
			Object: runtime.RawExtension{Object: j},
		})
	}
	return t
}

// imageText is the image as users gave it: "ghcr.io/acme/migrate:1.4", or
// "migrate:1.4 (acme)" within a registry.
func imageText(s jobdef.Spec) string {
	ref := s.Image
	if s.Tag != "" {
		ref += ":" + s.Tag
	}
	if s.Digest != "" {
		ref += "@" + s.Digest
	}
	if s.Registry != "" {
		ref += " (" + s.Registry + ")"
	}
	return ref
}

// paramsText is "LIMIT=10,TARGET=<required>".
func paramsText(ps []jobdef.Parameter) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		v := p.Shown(p.Default)
		if p.Required {
			v = "<required>"
		}
		parts = append(parts, p.Name+"="+v)
	}
	return strings.Join(parts, ",")
}

func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// printable replaces control characters (newlines, escape sequences) by
// '?' so a table row stays one line and cannot drive the terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}

// attachStatus sets each job's status from the newest of runs.
func attachStatus(jobs []jobdef.Job, runs []run.Status) {
	latest := run.Latest(runs)
	for i := range jobs {
		r, ok := latest[jobs[i].Namespace+"/"+jobs[i].Name]
		if !ok {
			continue
		}
		started := r.Created
		if r.Started != nil {
			started = *r.Started
		}
		invalid := ""
		if jobs[i].Status != nil {
			invalid = jobs[i].Status.Invalid
		}
		jobs[i].Status = &jobdef.Status{Invalid: invalid, LastRun: r.Name, LastRunStatus: string(r.Phase), LastRunStarted: &metav1.Time{Time: started}}
	}
}

// jobPrintFlags are the output flags of list and get: kubectl's -o formats
// (json, yaml, name, jsonpath, go-template, custom-columns) plus the
// default table and -o wide.
type jobPrintFlags struct {
	Output     string
	NoHeaders  bool
	ShowLabels bool
	print      *genericclioptions.PrintFlags
}

func newJobPrintFlags() *jobPrintFlags {
	return &jobPrintFlags{print: genericclioptions.NewPrintFlags("")}
}

func (f *jobPrintFlags) addFlags(cmd *cobra.Command) {
	formats := append([]string{"wide"}, f.print.AllowedFormats()...)
	formats = append(formats, columnsFormat, columnsFileFormat)
	addOwnOutputFlag(cmd, f.print, &f.Output, "Output format. One of: ("+strings.Join(formats, ", ")+").")
	f.print.OutputFlagSpecified = func() bool { return cmd.Flags().Changed("output") }
	cmd.Flags().BoolVar(&f.NoHeaders, "no-headers", false, "When using the default, wide or custom-column output, don't print headers.")
	cmd.Flags().BoolVar(&f.ShowLabels, "show-labels", false, "When printing a table, show all labels as the last column.")
}

// table reports whether the output is the default table or -o wide.
func (f *jobPrintFlags) table() bool {
	tmpl := f.print.TemplatePrinterFlags.TemplateArgument
	return f.Output == "wide" || f.Output == "" && (tmpl == nil || *tmpl == "")
}

// toPrinter returns the printer of a Job or a List.
func (f *jobPrintFlags) toPrinter(withNamespace bool) (printers.ResourcePrinter, error) {
	switch {
	case f.table():
		opts := printers.PrintOptions{Wide: f.Output == "wide", WithNamespace: withNamespace, NoHeaders: f.NoHeaders, ShowLabels: f.ShowLabels}
		return tablePrinter{delegate: printers.NewTablePrinter(opts)}, nil
	case strings.HasPrefix(f.Output, "custom-columns"):
		p, err := newColumnsPrinter(f.Output, f.NoHeaders)
		if err != nil {
			return nil, fmt.Errorf("-o %s: %w", f.Output, err)
		}
		return p, nil
	}
	p, err := f.print.ToPrinter()
	if err != nil {
		return nil, err
	}
	if f.Output == "name" {
		return itemPrinter{p}, nil
	}
	return p, nil
}

// tablePrinter prints jobs as a table; with sched, with their schedules.
type tablePrinter struct {
	delegate printers.ResourcePrinter
	sched    *scheduleView
}

func (p tablePrinter) PrintObj(obj runtime.Object, w io.Writer) error {
	var jobs []jobdef.Job
	switch o := obj.(type) {
	case *jobdef.Job:
		jobs = []jobdef.Job{*o}
	case *jobdef.List:
		jobs = o.Items
	default:
		return fmt.Errorf("cannot print %T as a job table", obj)
	}
	t := jobTable(jobs, time.Now())
	p.sched.addTo(t, jobs)
	return p.delegate.PrintObj(t, w)
}

// withSchedules returns p showing schedules as v says (a table printer;
// the other printers print the definitions as they are).
func withSchedules(p printers.ResourcePrinter, v *scheduleView) printers.ResourcePrinter {
	if tp, ok := p.(tablePrinter); ok {
		tp.sched = v
		return tp
	}
	return p
}

// itemPrinter prints each item of a List (the name printer refuses lists).
type itemPrinter struct{ delegate printers.ResourcePrinter }

func (p itemPrinter) PrintObj(obj runtime.Object, w io.Writer) error {
	l, ok := obj.(*jobdef.List)
	if !ok {
		return p.delegate.PrintObj(obj, w)
	}
	for i := range l.Items {
		if err := p.delegate.PrintObj(&l.Items[i], w); err != nil {
			return err
		}
	}
	return nil
}

// retentionText is "336h", or "1h (failed 48h)" with retentionFailed.
func retentionText(s jobdef.Spec) string {
	if s.RetentionFailed == "" || s.RetentionFailed == s.Retention {
		return s.Retention
	}
	return s.Retention + " (failed " + s.RetentionFailed + ")"
}

// notifyText counts the webhooks without showing them (their URLs often
// hold a secret).
func notifyText(s jobdef.Spec) string {
	switch n := len(s.Notifications); n {
	case 0:
		return none
	case 1:
		return "1 webhook"
	default:
		return fmt.Sprintf("%d webhooks", n)
	}
}

// keepsText is "keeps 20 succeeded, 20 failed; 60/min": the bounds on the volume
// of the job's runs.
func keepsText(s jobdef.Spec) string {
	rate := "no rate limit"
	if n := s.RunsPerMinute(); n > 0 {
		rate = fmt.Sprintf("%d/min", n)
	}
	return fmt.Sprintf("keeps %d succeeded, %d failed; %s", s.SucceededHistory(), s.FailedHistory(), rate)
}
