// Package run triggers, observes and manages runs of job definitions. A run
// is a batch/v1 Job rendered by a Helm release upgrade of the embedded
// chart; runs are always read from the Jobs, never from Helm's records.
//
// Every write of a run's or job's cluster state that is not a definition
// edit lives here: Triggerer.Trigger (a new run), Cancel and Delete (one
// run), DeleteJob (a job with its release, runs and files). Reads: Get (one
// run), List, Resolve, Wait, Logs.
package run
