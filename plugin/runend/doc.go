// Package runend is what happens when a run ends, done by the one hook
// server replica that holds the lease: the run's TTL by its outcome
// (retention or retentionFailed), a Kubernetes Event on its Job, run
// metrics, and the job's webhook notifications, each delivered once and
// recorded on the run's Job. All its state is in the Job's annotations, so
// a new leader (or a restarted one) goes on where the last one stopped.
//
// Files by concern: processor.go (the informer of finished runs and the
// run-end queue), process.go (one run's state machine), record.go (what is
// recorded on the run), deliver.go (tries of notifications, breaker.go,
// queue.go: the fair queue of deliveries), event.go (Events and last-outcome
// gauges), metrics.go, defwatch.go (series go with their definition),
// leader.go (the Lease).
//
// Requests: a run's end is three writes and no read when nothing is in
// the way (issue 23): the run is claimed as the informer has it (an update
// at that resourceVersion: a conflict means a read and one more try), its
// definition, signing secret and registry come from an informer of those
// Secrets (jobdef.Store.Cached), a completed run's pods are not listed
// (run.EndStatus), and the record that makes the last delivery final also
// marks the run ended.
//
// Writes: the run's Job is written only through the run domain
// (run.ClaimEnd, run.RecordDeliveries); this package writes Events itself
// (event.go), and the Lease (leader.go, client-go's leader election).
package runend
