// Package version reports the build of kubectl-shipjob and the versions of
// the libraries it speaks to clusters and Helm with.
package version

import (
	"runtime"
	"runtime/debug"
)

// Set by the linker: -X .../plugin/version.version=v0.1.0 -X ...commit=abc.
var (
	version = ""
	commit  = ""
)

// Info is what `kubectl shipjob version` prints.
type Info struct {
	Version         string `json:"version"`
	Commit          string `json:"commit"`
	GoVersion       string `json:"goVersion"`
	ClientGoVersion string `json:"clientGoVersion"`
	HelmVersion     string `json:"helmVersion"`
	Platform        string `json:"platform"`
}

// Get returns the build information. Without linker flags (go install,
// go run) the main module version and VCS revision are used when known.
func Get() Info {
	info := Info{Version: version, Commit: commit, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && info.Commit == "" && len(s.Value) >= 12 {
				info.Commit = s.Value[:12]
			}
		}
		for _, dep := range bi.Deps {
			switch dep.Path {
			case "k8s.io/client-go":
				info.ClientGoVersion = dep.Version
			case "helm.sh/helm/v3":
				info.HelmVersion = dep.Version
			}
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}
