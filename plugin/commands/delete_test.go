package commands

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/shipjob/kubectl-shipjob/plugin/helmrun"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

func addRuns(t *testing.T, tgt target, job string, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		labels := map[string]string{run.LabelKind: run.KindRun, run.LabelJob: job}
		meta := metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", job, i), Namespace: "ns", Labels: labels}
		if _, err := tgt.Client.BatchV1().Jobs("ns").Create(ctx, &batchv1.Job{ObjectMeta: meta}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		meta.Labels = map[string]string{run.LabelKind: run.KindRunFiles, run.LabelJob: job}
		if _, err := tgt.Client.CoreV1().Secrets("ns").Create(ctx, &corev1.Secret{ObjectMeta: meta}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDelete(t *testing.T) {
	cases := map[string]struct {
		names    []string
		keep     bool
		dry      dryRun
		ignore   bool
		wantOut  string
		wantErr  string
		wantLeft int // run Jobs left in the namespace
		wantJobs int // job definitions left
	}{
		"with runs": {names: []string{"a", "b"}, wantOut: "job.shipjob.dev/a deleted (3 runs deleted)\njob.shipjob.dev/b deleted (1 run deleted)\n",
			wantLeft: 1, wantJobs: 1},
		"keep runs":   {names: []string{"a"}, keep: true, wantOut: "job.shipjob.dev/a deleted (runs kept)\n", wantLeft: 5, wantJobs: 2},
		"client dry":  {names: []string{"a"}, dry: dryRunClient, wantOut: "job.shipjob.dev/a deleted (dry run) (3 runs deleted)\n", wantLeft: 5, wantJobs: 3},
		"missing":     {names: []string{"zz"}, wantErr: `jobs.shipjob.dev "zz" not found`, wantLeft: 5, wantJobs: 3},
		"ignore":      {names: []string{"zz", "c"}, ignore: true, wantOut: "job.shipjob.dev/c deleted\n", wantLeft: 5, wantJobs: 2},
		"one of many": {names: []string{"zz", "c", "yy"}, wantOut: "job.shipjob.dev/c deleted\n", wantErr: "exit code 1", wantLeft: 5, wantJobs: 2},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tgt, client := fakeTarget(t, storedJob("a"), storedJob("b"), storedJob("c"))
			addRuns(t, tgt, "a", 3)
			addRuns(t, tgt, "b", 1)
			addRuns(t, tgt, "other", 1)
			var out, errOut bytes.Buffer
			if tc.dry == "" {
				tc.dry = dryRunNone
			}
			o := &DeleteOptions{Names: tc.names, KeepRuns: tc.keep, IgnoreNotFound: tc.ignore, target: tgt, engine: helmrun.New, dryRun: tc.dry,
				IOStreams: genericiooptions.IOStreams{Out: &out, ErrOut: &errOut}}
			err := o.Run(context.Background())
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
			if out.String() != tc.wantOut {
				t.Errorf("output %q, want %q", out.String(), tc.wantOut)
			}
			if name == "one of many" && strings.Count(errOut.String(), "Error from server (NotFound)") != 2 {
				t.Errorf("stderr: %q", errOut.String())
			}
			runs, _ := client.BatchV1().Jobs("ns").List(context.Background(), metav1.ListOptions{})
			files, _ := client.CoreV1().Secrets("ns").List(context.Background(), metav1.ListOptions{LabelSelector: run.LabelKind + "=" + run.KindRunFiles})
			jobs, _ := tgt.store(false).List(context.Background(), "")
			if len(runs.Items) != tc.wantLeft || len(files.Items) != tc.wantLeft || len(jobs) != tc.wantJobs {
				t.Errorf("left: %d runs, %d files, %d jobs; want %d, %d, %d", len(runs.Items), len(files.Items), len(jobs), tc.wantLeft, tc.wantLeft, tc.wantJobs)
			}
		})
	}
}
