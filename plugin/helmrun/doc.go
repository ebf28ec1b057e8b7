// Package helmrun is the half of the run domain that speaks Helm: the
// trigger (Triggerer: a Helm release upgrade of the embedded run chart, its
// release records as the lock, concurrency rules and idempotency keys
// decided while holding them, the run's files and secret parameters) and
// DeleteJob (runs, files, release records by name, definition; never
// Helm's uninstall). New makes the run.Engine
// that cmd/kubectl-shipjob hands to the front ends, so only the binary's
// main links Helm's actions and release storage.
package helmrun
