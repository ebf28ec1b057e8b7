package commands

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// RunsOptions list runs.
type RunsOptions struct {
	Job           string
	AllNamespaces bool
	Watch         bool
	Output        string
	// Limit is how many of the newest runs are printed (0: all). Tables
	// default to defaultRunsLimit; json, yaml and name print all unless
	// --limit is given.
	Limit int

	limitSet bool
	flags    *genericclioptions.ConfigFlags
	target   target
	genericiooptions.IOStreams
}

func newRunsCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &RunsOptions{flags: flags, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "runs [JOB]",
		Short: "List runs of a job (or of all jobs), newest first",
		Example: `  kubectl shipjob runs migrate
  kubectl shipjob runs -A -o wide
  kubectl shipjob runs migrate --watch
  kubectl shipjob runs migrate -o json
  kubectl shipjob runs migrate --limit 0   # every kept run, not only the newest 100`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeJobNames(flags),
		RunE:              runE(o),
	}
	cmd.Flags().IntVar(&o.Limit, "limit", defaultRunsLimit,
		"Print the newest N runs (0: all). Applies to json, yaml and name output only when given")
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "List runs in all namespaces")
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "After listing, watch for changes")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: wide, name, json or yaml")
	return cmd
}

// Complete takes the job name, if any, and resolves the namespace and
// client.
func (o *RunsOptions) Complete(cmd *cobra.Command, args []string) error {
	if len(args) == 1 {
		o.Job = args[0]
	}
	o.limitSet = cmd.Flags().Changed("limit")
	var err error
	o.target, err = resolveTarget(o.flags)
	return err
}

// Validate checks the output format and the job name.
func (o *RunsOptions) Validate() error {
	if err := checkFormat(o.Output, "wide", "name", "json", "yaml"); err != nil {
		return err
	}
	if o.Limit < 0 {
		return fmt.Errorf("invalid --limit %d: want 0 (all) or a positive number", o.Limit)
	}
	if o.Job != "" {
		if err := jobdef.ValidateName(o.Job); err != nil {
			return err
		}
	}
	return nil
}

// Run lists (and watches) runs.
func (o *RunsOptions) Run(ctx context.Context) error {
	ns := o.target.Namespace
	if o.AllNamespaces {
		ns = ""
	}
	if o.Job != "" && !o.AllNamespaces {
		if _, err := o.target.store(false).Get(ctx, o.Job); err != nil {
			// Runs may outlive their job (delete --keep-runs): only fail
			// when there are none either.
			runs, lerr := run.List(ctx, o.target.Client, ns, o.Job)
			if lerr != nil || len(runs) == 0 {
				return err
			}
		}
	}
	if o.Watch {
		return o.watch(ctx, ns)
	}
	// One job's newest runs read only those whole (run.ListNewest).
	runs, total, err := run.ListNewest(ctx, o.target.Client, ns, o.Job, 0, o.effectiveLimit())
	if err != nil {
		return err
	}
	if total == 0 && (o.Output == "" || o.Output == "wide") {
		fmt.Fprintln(o.ErrOut, noRunsMessage(o.Job, ns))
		return nil
	}
	shown, _ := limitRuns(runs, o.effectiveLimit())
	if err := o.print(shown, true); err != nil {
		return err
	}
	if more := total - len(shown); more > 0 {
		fmt.Fprintf(o.ErrOut, "%d older runs not shown: --limit %d shows them too, --limit 0 shows all.\n", more, total)
	}
	return nil
}

// defaultRunsLimit bounds a table of runs: a job may keep thousands.
const defaultRunsLimit = 100

// effectiveLimit is the number of runs to print (0: all): machine output
// is never cut short unless asked to.
func (o *RunsOptions) effectiveLimit() int {
	switch o.Output {
	case "json", "yaml", "name":
		if !o.limitSet {
			return 0
		}
	}
	return o.Limit
}

// limitRuns keeps the first limit of runs (newest first; 0: all) and says
// how many it left out.
func limitRuns(runs []run.Status, limit int) ([]run.Status, int) {
	if limit <= 0 || len(runs) <= limit {
		return runs, 0
	}
	return runs[:limit], len(runs) - limit
}

// watch prints the runs, then a line each time a run's state changes,
// until ctx ends. It reads the runs again when run.Watch (the one watch of
// runs' Jobs and pods) reports a change, at most once a second.
func (o *RunsOptions) watch(ctx context.Context, ns string) error {
	changes := watchRunChanges(ctx, o.target.Client, ns)
	seen := map[string]string{}
	first, headers := true, false
	for {
		runs, err := run.List(ctx, o.target.Client, ns, o.Job)
		if err != nil {
			return err
		}
		listed := time.Now()
		var changed []run.Status
		for _, r := range runs {
			key := string(r.Phase) + "|" + r.StableMessage()
			if seen[r.Namespace+"/"+r.Name] != key {
				seen[r.Namespace+"/"+r.Name] = key
				changed = append(changed, r)
			}
		}
		more := 0
		if first { // the listing a watch starts from is limited like one without
			changed, more = limitRuns(changed, o.effectiveLimit())
		}
		if len(changed) > 0 {
			if err := o.print(changed, !headers); err != nil {
				return err
			}
			headers = true
			if more > 0 {
				fmt.Fprintf(o.ErrOut, "%d older runs not shown: --limit %d shows them too, --limit 0 shows all.\n", more, len(runs))
			}
		} else if first && len(runs) == 0 {
			fmt.Fprintln(o.ErrOut, noRunsMessage(o.Job, ns)+" Waiting for runs…")
		}
		first = false
		if waitRunsChange(ctx, changes, listed) != nil {
			return nil
		}
	}
}

func noRunsMessage(job, ns string) string {
	if job != "" {
		return fmt.Sprintf("No runs of job %s yet: trigger one with 'kubectl shipjob run %s'.", job, job)
	}
	if ns == "" {
		return "No runs found."
	}
	return fmt.Sprintf("No runs found in %s namespace.", ns)
}

// watchRunChanges starts run.WatchFrom and returns once it has read the
// state it starts from (a list read then misses no change); the channel
// receives a value after changes of runs of ns. Where runs may not be
// watched, it receives one every second instead.
func watchRunChanges(ctx context.Context, client kubernetes.Interface, ns string) <-chan struct{} {
	changes := make(chan struct{}, 1)
	changed := func() {
		select {
		case changes <- struct{}{}:
		default: // one pending change stands for all of them
		}
	}
	started := make(chan struct{})
	go func() {
		// WatchFrom fails only before it has started.
		if err := run.WatchFrom(ctx, client, ns, func() { close(started) }, func(string) { changed() }); err == nil {
			return
		}
		close(started)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				changed()
			}
		}
	}()
	select {
	case <-started:
	case <-ctx.Done():
	}
	return changes
}

// waitRunsChange returns after the next change of a run, not within a
// second of the last list (changes come in bursts: a Job and its pods).
func waitRunsChange(ctx context.Context, changes <-chan struct{}, listed time.Time) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-changes:
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(listed.Add(time.Second))):
		return nil
	}
}

func (o *RunsOptions) print(runs []run.Status, headers bool) error {
	switch o.Output {
	case "name":
		for _, r := range runs {
			fmt.Fprintf(o.Out, "run.shipjob.dev/%s\n", r.Name)
		}
		return nil
	case "json", "yaml":
		return printRunList(o.Out, o.Output, runs)
	}
	table := runsTable(runs, time.Now())
	p := printers.NewTablePrinter(printers.PrintOptions{Wide: o.Output == "wide", WithNamespace: o.AllNamespaces, NoHeaders: !headers})
	return p.PrintObj(table, o.Out)
}

// runsTable renders runs as a kubectl table (wide columns have priority 1).
func runsTable(runs []run.Status, now time.Time) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Run", Type: "string"}, {Name: "Status", Type: "string"}, {Name: "Started", Type: "string"},
		{Name: "Duration", Type: "string"}, {Name: "Trigger", Type: "string"}, {Name: "Message", Type: "string"},
		{Name: "Image", Type: "string", Priority: 1}, {Name: "Params", Type: "string", Priority: 1},
		{Name: "Exit Code", Type: "string", Priority: 1}, {Name: "Attempts", Type: "integer", Priority: 1},
		{Name: "Rerun Of", Type: "string", Priority: 1}, {Name: "Notified", Type: "string", Priority: 1},
	}}
	for _, r := range runs {
		started, dur := "-", "-"
		if r.Started != nil {
			started = duration.HumanDuration(now.Sub(*r.Started)) + " ago"
			dur = run.HumanDuration(r.Duration(now))
		}
		code := "-"
		if r.ExitCode != nil {
			code = fmt.Sprint(*r.ExitCode)
		}
		t.Rows = append(t.Rows, metav1.TableRow{
			Cells: []any{r.Name, string(r.Phase), started, dur, orDash(r.TriggeredBy), orDash(r.Message),
				orDash(r.Image), orDash(formatParams(r.Parameters)), code, int64(r.Attempts), orDash(r.RerunOf), orDash(r.Notified)},
			Object: runtime.RawExtension{Object: &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace}}},
		})
	}
	return t
}

func formatParams(p map[string]string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+p[k])
	}
	return strings.Join(parts, ",")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printRunList prints runs as a shipjob.dev/v1alpha1 RunList.
func printRunList(w io.Writer, format string, runs []run.Status) error {
	items := make([]any, 0, len(runs))
	for _, r := range runs {
		items = append(items, map[string]any{"apiVersion": jobdef.APIVersion, "kind": "Run",
			"metadata": map[string]any{"name": r.Name, "namespace": r.Namespace}, "status": r})
	}
	list := map[string]any{"apiVersion": jobdef.APIVersion, "kind": "RunList", "items": items}
	return writeData(w, format, list, "runs")
}
