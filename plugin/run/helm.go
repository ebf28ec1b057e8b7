package run

import (
	"io"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
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
