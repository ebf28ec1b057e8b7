package commands

import (
	"context"
	"fmt"
	"os"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// target is where a command works: the namespace (from -n or the
// kubeconfig context, never a silent fallback) and a clientset built from
// the kubectl flags (--kubeconfig, --context, --as, --request-timeout, ...).
type target struct {
	Namespace string
	// ExplicitNamespace is true when -n was given.
	ExplicitNamespace bool
	Client            kubernetes.Interface
	// Clock is the API server's clock, read off Client's responses.
	Clock *run.ServerClock
	// flags are the kubectl flags the client was built from (Helm's
	// getter, the credentials whoAmI caches by).
	flags *genericclioptions.ConfigFlags
}

// resolveTarget reads the namespace and builds the client. It makes no API
// request.
func resolveTarget(flags *genericclioptions.ConfigFlags) (target, error) {
	ns, explicit, err := flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return target{}, fmt.Errorf("resolve namespace: %w", err)
	}
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return target{}, fmt.Errorf("load kubeconfig: %w", err)
	}
	useProtobuf(cfg)
	clock := &run.ServerClock{}
	cfg.Wrap(clock.Wrap)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return target{}, fmt.Errorf("create client: %w", err)
	}
	return target{Namespace: ns, ExplicitNamespace: explicit, Client: client, Clock: clock, flags: flags}, nil
}

// useProtobuf makes built-in types travel as protobuf: listing thousands of
// runs or definitions decodes several times faster than JSON.
func useProtobuf(cfg *rest.Config) {
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
}

// engineConfig is the run.Engine configuration of every command and the
// hook server: t's client and clock, the kubectl flags for Helm, and the
// environment's defaults (SHIPJOB_STALE_AFTER), read here only.
func (t target) engineConfig() (run.EngineConfig, error) {
	stale, err := run.StaleAfterFromEnv(os.Getenv)
	if err != nil {
		return run.EngineConfig{}, err
	}
	return run.EngineConfig{Client: t.Client, Getter: t.flags, Clock: t.Clock, StaleAfter: stale}, nil
}

// engine makes the run.Engine (newEngine is helmrun.New, from main) over
// engineConfig.
func (t target) engine(newEngine run.NewEngine) (run.Engine, error) {
	cfg, err := t.engineConfig()
	if err != nil {
		return nil, err
	}
	return newEngine(cfg), nil
}

// whoAmI names the user for a run's provenance (cached per credentials).
func (t target) whoAmI(ctx context.Context) string {
	if t.flags == nil {
		return run.WhoAmI(ctx, t.Client)
	}
	cfg, err := t.flags.ToRESTConfig()
	if err != nil {
		return run.WhoAmI(ctx, t.Client)
	}
	cacheDir := ""
	if t.flags.CacheDir != nil {
		cacheDir = *t.flags.CacheDir
	}
	return run.WhoAmICached(ctx, t.Client, cfg, cacheDir)
}

// store is the job store of the target namespace ("" with allNamespaces).
func (t target) store(allNamespaces bool) *jobdef.Store {
	ns := t.Namespace
	if allNamespaces {
		ns = ""
	}
	return &jobdef.Store{Client: t.Client, Namespace: ns}
}
