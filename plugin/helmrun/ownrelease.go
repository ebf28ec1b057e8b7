package helmrun

import (
	"fmt"

	"github.com/shipjob/kubectl-shipjob/charts"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// checkOwnRelease refuses a release whose history holds a record of
// another chart than the run chart (review N13): a job shares its name
// with its Helm release, and an application's release of that name must
// never be upgraded, pruned or deleted by a trigger. It reads the history
// (once per trigger, from the cache) and writes nothing.
func checkOwnRelease(cache *releaseCache, ns string) error {
	if err := cache.load(); err != nil {
		return fmt.Errorf("read release %s: %w", cache.name, err)
	}
	for _, r := range cache.byKey {
		name := ""
		if r.Chart != nil && r.Chart.Metadata != nil {
			name = r.Chart.Metadata.Name
		}
		if name != charts.RunChartName {
			return &run.ForeignReleaseError{Namespace: ns, Release: cache.name, Chart: name, Want: charts.RunChartName}
		}
	}
	return nil
}
