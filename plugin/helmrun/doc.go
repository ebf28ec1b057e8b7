// Package helmrun is the run domain's Releaser over Helm (run.Releaser),
// and nothing else: it renders a run's Plan with the embedded run chart
// (values made from the Plan, the post-renderer, the rendered Job checked
// against the same Plan), upgrades the job's release with it (Helm's
// release records are the lock across processes; a release left pending by
// a killed trigger is healed; the history is pruned; the trigger rate's
// state rides on each record), and deletes a job's records by name (never
// Helm's uninstall). The trigger's policy (definition, parameters,
// admission, idempotency, the run's Secrets, history of runs, job
// deletion) is run.Triggerer's. New makes the run.Engine that
// cmd/kubectl-shipjob hands to the front ends, so only the binary's main
// links Helm's actions and release storage. Every product file imports
// Helm (plugin/layout_test.go).
package helmrun
