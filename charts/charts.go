// Package charts embeds the Helm chart every run renders, so the plugin needs
// no chart files (and no helm binary) at run time. The same chart works with
// the helm CLI: `helm lint --strict charts/shipjob-run`.
package charts

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
)

//go:embed all:shipjob-run
var files embed.FS

// RunChartName is the embedded chart's directory.
const RunChartName = "shipjob-run"

var (
	runOnce  sync.Once
	runChart *chart.Chart
	runErr   error
)

// Run returns the embedded run chart, loaded once per process. Callers must
// not modify it.
func Run() (*chart.Chart, error) {
	runOnce.Do(func() { runChart, runErr = load(RunChartName) })
	return runChart, runErr
}

func load(dir string) (*chart.Chart, error) {
	var bufs []*loader.BufferedFile
	err := fs.WalkDir(files, dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		bufs = append(bufs, &loader.BufferedFile{Name: strings.TrimPrefix(path, dir+"/"), Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read embedded chart %s: %w", dir, err)
	}
	c, err := loader.LoadFiles(bufs)
	if err != nil {
		return nil, fmt.Errorf("load embedded chart %s: %w", dir, err)
	}
	return c, nil
}
