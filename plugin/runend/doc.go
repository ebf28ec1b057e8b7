// Package runend is what happens when a run ends, done by the one hook
// server replica that holds the lease: the run's TTL by its outcome
// (retention or retentionFailed), a Kubernetes Event on its Job, run
// metrics, and the job's webhook notifications, each delivered once and
// recorded on the run's Job. All its state is in the Job's annotations, so
// a new leader (or a restarted one) goes on where the last one stopped.
package runend
