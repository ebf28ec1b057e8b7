package helmrun

import (
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/charts"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// TestTriggerRefusesForeignRelease (review N13): a Helm release named like
// the job whose history holds a record of another chart is an
// application's: the trigger refuses it before any write (the files Secret
// included), with one line naming the release and its chart, and the
// release is neither upgraded nor pruned.
func TestTriggerRefusesForeignRelease(t *testing.T) {
	for name, mutate := range map[string]func(*jobdef.Job){
		"with files":    nil,
		"without files": func(j *jobdef.Job) { j.Spec.Files = nil },
	} {
		t.Run(name, func(t *testing.T) {
			ft := newFakeTrigger(t, 0, jobSecret(t, mutate))
			for v := 1; v <= 12; v++ { // more than pruning keeps
				chartName := charts.RunChartName
				if v == 1 {
					chartName = "web"
				}
				rel := &release.Release{Name: "migrate", Namespace: "ns", Version: v,
					Chart: &chart.Chart{Metadata: &chart.Metadata{Name: chartName, Version: "1.0.0"}},
					Info:  &release.Info{Status: release.StatusSuperseded}}
				if err := driver.NewSecrets(ft.cs.CoreV1().Secrets("ns")).Create(releaseKey("migrate", v), rel); err != nil {
					t.Fatal(err)
				}
			}
			ft.cs.ClearActions()
			_, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate"})
			want := `Helm release migrate in namespace ns is of chart "web", not kubectl-shipjob's run chart shipjob-run: ` +
				`job migrate cannot run while that release exists (give the job another name)`
			if !run.IsForeignRelease(err) || err.Error() != want {
				t.Fatalf("trigger = %v\nwant %s", err, want)
			}
			for _, a := range ft.cs.Actions() {
				if v := a.GetVerb(); v != "get" && v != "list" {
					t.Errorf("wrote: %v", a)
				}
			}
			secrets, _ := ft.cs.CoreV1().Secrets("ns").List(t.Context(), metav1.ListOptions{})
			if n := len(secrets.Items); n != 13 || ft.creates.Load() != 0 {
				t.Errorf("%d secrets (want the definition and 12 records), %d Jobs created", n, ft.creates.Load())
			}
		})
	}
}

// TestTriggerAcceptsItsOwnRelease: a history of run-chart records only is
// upgraded as before.
func TestTriggerAcceptsItsOwnRelease(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobSecret(t, nil))
	for i := range 2 {
		if _, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate"}); err != nil {
			t.Fatalf("trigger %d: %v", i, err)
		}
		waitReleaseSettled(t, ft, i+1)
	}
}

// runChartRecord is the chart of a record a trigger writes.
func runChartRecord() *chart.Chart {
	return &chart.Chart{Metadata: &chart.Metadata{Name: charts.RunChartName, Version: "0.1.0"}}
}
