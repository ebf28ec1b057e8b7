package run

import (
	"context"
	"fmt"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
)

// Engine starts runs and deletes jobs: a Triggerer over a Releaser
// (helmrun.New makes one over Helm). Front ends (the CLI, the hook
// server, the web UI) are handed one by cmd/kubectl-shipjob, so they link
// nothing of Helm themselves. It is safe for concurrent use.
type Engine interface {
	// Trigger starts a run of req.Job as it is defined now; see
	// Triggerer.Trigger for its errors.
	Trigger(ctx context.Context, req Request) (*Result, error)
	// DeleteJob deletes job name of namespace ns: its release records, its
	// runs (unless opts.KeepRuns) and its definition last.
	DeleteJob(ctx context.Context, ns, name string, opts DeleteJobOptions) (DeleteJobResult, error)
}

// EngineConfig is what an Engine is made of.
type EngineConfig struct {
	Client kubernetes.Interface
	// Getter is the client configuration Helm talks through (the kubectl
	// flags).
	Getter genericclioptions.RESTClientGetter
	// LockTimeout bounds the wait for other triggers of the same job
	// (default 2 minutes).
	LockTimeout time.Duration
	// StaleAfter is how long a release may stay pending before a trigger
	// heals it (default 20s; StaleAfterFromEnv).
	StaleAfter time.Duration
	// Clock is the API server's clock (nil: the local one).
	Clock *ServerClock
	// PruneByName prunes Helm history with one delete per record (the
	// hook server's Role grants no deletecollection).
	PruneByName bool
	// OnPruneFailure, if set, is told when old release records could not
	// be deleted.
	OnPruneFailure func(namespace, job string, failed int, err error)
}

// NewEngine makes an Engine (helmrun.New).
type NewEngine func(EngineConfig) Engine

// StaleAfterEnv overrides the Releaser's default StaleAfter for every trigger of a
// process, the CLI's and the hook server's alike.
const StaleAfterEnv = "SHIPJOB_STALE_AFTER"

// StaleAfterFromEnv reads StaleAfterEnv (0 when unset: the default).
func StaleAfterFromEnv(getenv func(string) string) (time.Duration, error) {
	v := getenv(StaleAfterEnv)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid %s %q: want a positive duration such as 20s", StaleAfterEnv, v)
	}
	return d, nil
}
