// Package run observes and manages runs of job definitions. A run is a
// batch/v1 Job rendered by a Helm release upgrade of the embedded chart;
// runs are always read from the Jobs, never from Helm's records.
//
// Every write of a run's or job's cluster state that is not a definition
// edit is done by this package or by its Engine: Engine.Trigger (a new run)
// and Engine.DeleteJob (a job with its release, runs and files), which
// plugin/helmrun implements over Helm; Cancel and Delete (one run), debug
// pods, and the run-end records on a run's Job (ClaimEnd, RecordDeliveries,
// called by plugin/runend, which decides them) here. Not run state, and
// written elsewhere: the run-end Events and the leader's Lease
// (plugin/runend). Reads: Get (one run), List, Resolve, Wait, Logs. This
// package links nothing of Helm: front ends get an Engine handed in.
package run
