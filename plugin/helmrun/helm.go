package helmrun

import (
	"io"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// HelmConfig returns a Helm action configuration for namespace, storing
// releases in Secrets (Helm's default driver) and talking to the cluster
// through getter (the plugin's kubectl flags) and client, which it shares
// with the caller.
//
// It is what action.Configuration.Init does for the "secret" driver. Init
// itself is not called: it also constructs the SQL driver, and calling it
// links that driver's database stack (sql-migrate, gorp, squirrel, sqlx)
// into the binary, about 0.5 MB that no release of ours ever uses (see
// BENCHMARKS.md, "Binary size").
func HelmConfig(getter genericclioptions.RESTClientGetter, client kubernetes.Interface, namespace string) *action.Configuration {
	secrets := driver.NewSecrets(client.CoreV1().Secrets(namespace))
	secrets.Log = discardLog
	return &action.Configuration{
		RESTClientGetter: getter,
		KubeClient:       newHelmKube(&helmFactory{getter: getter}),
		Releases:         storage.Init(secrets),
		Log:              discardLog,
		HookOutputFunc:   func(_, _, _ string) io.Writer { return io.Discard },
	}
}

func discardLog(string, ...interface{}) {}

// NamespacedGetter returns getter with its namespace replaced by ns.
func NamespacedGetter(getter genericclioptions.RESTClientGetter, ns string) genericclioptions.RESTClientGetter {
	return nsGetter{RESTClientGetter: getter, ns: ns}
}

type nsGetter struct {
	genericclioptions.RESTClientGetter
	ns string
}

func (g nsGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return nsClientConfig{base: g.RESTClientGetter.ToRawKubeConfigLoader(), ns: g.ns}
}

// nsClientConfig is a clientcmd.ClientConfig with a fixed namespace.
type nsClientConfig struct {
	base clientcmd.ClientConfig
	ns   string
}

var _ clientcmd.ClientConfig = nsClientConfig{}

func (c nsClientConfig) RawConfig() (clientcmdapi.Config, error) { return c.base.RawConfig() }
func (c nsClientConfig) ClientConfig() (*rest.Config, error)     { return c.base.ClientConfig() }
func (c nsClientConfig) ConfigAccess() clientcmd.ConfigAccess    { return c.base.ConfigAccess() }

func (c nsClientConfig) Namespace() (string, bool, error) { return c.ns, true, nil }
