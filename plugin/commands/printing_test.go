package commands

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func sampleJobs() []jobdef.Job {
	a := jobdef.New("team-a", "alpha")
	a.CreationTimestamp = metav1.NewTime(now.Add(-3 * time.Hour))
	a.Spec.Image, a.Spec.Tag, a.Spec.Registry, a.Spec.Description = "migrate", "1.4", "acme", "Migrations"
	a.Spec.Parameters = []jobdef.Parameter{{Name: "LIMIT", Default: "10"}, {Name: "TARGET", Required: true}}
	b := jobdef.New("team-b", "beta")
	b.CreationTimestamp = metav1.NewTime(now.Add(-90 * time.Second))
	b.Spec.Image, b.Spec.Tag, b.Spec.Digest, b.Spec.Timeout = "ghcr.io/x/y", "", "sha256:"+hex64, "none"
	return []jobdef.Job{*a, *b}
}

func TestJobTable(t *testing.T) {
	jobs := sampleJobs()
	jobs[0].Spec.RetentionFailed = "30d"
	jobs[0].Spec.Notifications = []jobdef.Notification{{URL: "https://a.example/x"}, {URL: "https://b.example/y"}}
	zero, two := int32(0), int32(2)
	jobs[1].Spec.FailedRunsHistoryLimit, jobs[1].Spec.MaxRunsPerMinute = &two, &zero
	started := now.Add(-5 * time.Minute)
	attachStatus(jobs, []run.Status{ // newest first, as run.List returns them
		{Name: "alpha-new", Namespace: "team-a", Job: "alpha", Phase: run.Running, Created: now.Add(-6 * time.Minute), Started: &started},
		{Name: "alpha-old", Namespace: "team-a", Job: "alpha", Phase: run.Failed, Created: now.Add(-time.Hour)},
		{Name: "beta-elsewhere", Namespace: "other", Job: "beta", Phase: run.Failed, Created: now},
	})
	table := jobTable(jobs, now)
	want := [][]any{
		{"alpha", "migrate:1.4 (acme)", "5m", "Running", "3h", "Migrations", "LIMIT=10,TARGET=<required>", "15m", "336h (failed 30d)", "2 webhooks", "keeps 20 succeeded, 20 failed; 60/min"},
		{"beta", "ghcr.io/x/y@sha256:" + hex64, "<none>", "<none>", "90s", "<none>", "<none>", "none", "336h", "<none>", "keeps 20 succeeded, 2 failed; no rate limit"},
	}
	for i, row := range table.Rows {
		for c, cell := range row.Cells {
			if cell != want[i][c] {
				t.Errorf("row %d %s = %v, want %v", i, table.ColumnDefinitions[c].Name, cell, want[i][c])
			}
		}
		if row.Object.Object != &jobs[i] {
			t.Errorf("row %d does not carry its job (needed for -A and --show-labels)", i)
		}
	}
	if jobs[0].Status.LastRun != "alpha-new" || jobs[1].Status != nil {
		t.Errorf("status: %+v / %+v", jobs[0].Status, jobs[1].Status)
	}
}

func TestPrintFormats(t *testing.T) {
	cases := map[string]struct {
		args  []string
		allNS bool
		want  string
	}{
		"table":          {nil, false, "LAST RUN   STATUS   AGE\n|\nalpha   migrate:1.4 (acme)  |   <none>     <none>   "},
		"wide":           {[]string{"-o", "wide"}, false, "PARAMS                       TIMEOUT   RETENTION   NOTIFY   LIMITS\n|Migrations    LIMIT=10,TARGET=<required>   15m       336h        <none>   keeps 20 succeeded, 20 failed; 60/min\n"},
		"all namespaces": {nil, true, "NAMESPACE   NAME    IMAGE"},
		"no headers":     {[]string{"--no-headers"}, false, "alpha   migrate:1.4 (acme)"},
		"labels":         {[]string{"--show-labels"}, false, "LABELS\n"},
		"name":           {[]string{"-o", "name"}, false, "job.shipjob.dev/alpha\njob.shipjob.dev/beta\n"},
		"jsonpath":       {[]string{"-o", "jsonpath={.items[*].metadata.name}"}, false, "alpha beta"},
		"template":       {[]string{"--template", "{{range .items}}{{.spec.timeout}};{{end}}"}, false, "15m;none;"},
		"custom-columns": {[]string{"-o", "custom-columns=N:.metadata.name,NS:.metadata.namespace"}, false, "N       NS\nalpha   team-a\nbeta    team-b\n"},
		"yaml":           {[]string{"-o", "yaml"}, false, "apiVersion: shipjob.dev/v1alpha1\nitems:\n- apiVersion: shipjob.dev/v1alpha1\n  kind: Job\n"},
		"json":           {[]string{"-o", "json"}, false, `"kind": "JobList"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newJobPrintFlags()
			cmd := &cobra.Command{}
			f.addFlags(cmd)
			if err := cmd.Flags().Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			p, err := f.toPrinter(tc.allNS)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := p.PrintObj(jobdef.NewList(sampleJobs()), &out); err != nil {
				t.Fatal(err)
			}
			for _, want := range strings.Split(tc.want, "|") {
				if !strings.Contains(out.String(), want) {
					t.Fatalf("output:\n%s\nwant it to contain:\n%s", out.String(), want)
				}
			}
		})
	}
	f := newJobPrintFlags()
	cmd := &cobra.Command{}
	f.addFlags(cmd)
	_ = cmd.Flags().Parse([]string{"-o", "xml"})
	if _, err := f.toPrinter(false); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Fatalf("unknown format: %v", err)
	}
}
