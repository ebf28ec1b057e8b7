package commands

import (
	"fmt"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

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
	if cfg.QPS == 0 { // client-go's default (5/s) throttles delete of many runs
		cfg.QPS, cfg.Burst = 50, 100
	}
	// Built-in types travel as protobuf: listing thousands of runs decodes
	// several times faster than JSON.
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	clock := &run.ServerClock{}
	cfg.Wrap(clock.Wrap)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return target{}, fmt.Errorf("create client: %w", err)
	}
	return target{Namespace: ns, ExplicitNamespace: explicit, Client: client, Clock: clock}, nil
}

// store is the job store of the target namespace ("" with allNamespaces).
func (t target) store(allNamespaces bool) *jobdef.Store {
	ns := t.Namespace
	if allNamespaces {
		ns = ""
	}
	return &jobdef.Store{Client: t.Client, Namespace: ns}
}
