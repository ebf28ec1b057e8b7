// Package run owns runs of job definitions. A run is a batch/v1 Job that a
// Releaser records in the job's release (plugin/helmrun: a Helm release
// upgrade of the embedded chart); runs are always read from the Jobs,
// never from the release records.
//
// Triggerer is the Engine: Trigger (a new run) in two halves, prepare
// (every read and check, a typed Plan, nothing written) and perform (the
// per-job lock, the run's Secrets, the Releaser's upgrade admitting the run
// by the job's concurrency rules and history bounds while the release is
// held, the Secrets handed to the run's Job), and DeleteJob (runs, files,
// release records through the Releaser, signing Secret, definition). The
// Releaser interface is the one port to Helm; run/runtest has a fake.
//
// Writes of a run's or job's cluster state that are not a definition edit
// are done here (the trigger and DeleteJob, Cancel and Delete of one run,
// debug pods, the run-end records on a run's Job: ClaimEnd and
// RecordDeliveries, called by plugin/runend, which decides them), and by the
// Releaser for release records and the run's Job. Not run state, and
// written elsewhere: the run-end Events and the leader's Lease
// (plugin/runend). Reads: Get (one run), List, Resolve, Wait, Logs.
// This package links nothing of Helm: front ends get an Engine handed in.
package run
