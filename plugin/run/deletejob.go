package run

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// API is the dryRun value of API requests in this mode: "All" in server
// mode, nil otherwise (a client dry run sends no write at all).
func (d DryRun) API() []string {
	if d == DryRunServer {
		return []string{metav1.DryRunAll}
	}
	return nil
}

// DeleteJobOptions tune DeleteJob.
type DeleteJobOptions struct {
	// KeepRuns leaves the job's runs (and their files) until their
	// retention ends.
	KeepRuns bool
	// DryRun: client reads and counts only; server sends every delete
	// with dryRun=All.
	DryRun DryRun
}

// DeleteJobResult is what DeleteJob removed.
type DeleteJobResult struct {
	// Runs is how many runs were deleted (0 when kept).
	Runs int
	// RunsKept is true with KeepRuns.
	RunsKept bool
}
