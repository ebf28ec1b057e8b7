package helmrun

import (
	"fmt"
	"sync"

	"helm.sh/helm/v3/pkg/kube"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/kubectl/pkg/validation"
)

// helmFactory is the kube.Factory of our Helm clients, built on the
// plugin's RESTClientGetter alone.
type helmFactory struct {
	getter genericclioptions.RESTClientGetter

	once sync.Once
	cs   *kubernetes.Clientset
	err  error
}

var _ kube.Factory = (*helmFactory)(nil)

func (f *helmFactory) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return f.getter.ToRawKubeConfigLoader()
}

func (f *helmFactory) KubernetesClientSet() (*kubernetes.Clientset, error) {
	f.once.Do(func() {
		cfg, err := f.getter.ToRESTConfig()
		if err != nil {
			f.err = err
			return
		}
		f.cs, f.err = kubernetes.NewForConfig(cfg)
	})
	return f.cs, f.err
}

func (f *helmFactory) DynamicClient() (dynamic.Interface, error) {
	cfg, err := f.getter.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	return dynamic.NewForConfig(cfg)
}

func (f *helmFactory) NewBuilder() *resource.Builder {
	return resource.NewBuilder(f.getter)
}

func (f *helmFactory) Validator(directive string) (validation.Schema, error) {
	if directive != metav1.FieldValidationIgnore {
		return nil, fmt.Errorf("field validation %q is not supported", directive)
	}
	return validation.NullSchema{}, nil
}
