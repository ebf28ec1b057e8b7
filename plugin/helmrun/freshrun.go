package helmrun

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/kube"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// Helm's install and upgrade GET every object they are about to create, to
// refuse (or adopt) one that exists. A run's Job never exists: its name is
// new on every trigger (the run's name, with a random part), and were one
// there, its Create fails with AlreadyExists and the run is not made (a
// Job with Helm's annotations is never adopted). So the GET is answered
// here, 404, without a request: one request less per trigger.

// Build builds the manifest's resources; the run's Job answers Helm's
// existence check itself (freshJob).
func (c *runKube) Build(r io.Reader, validate bool) (kube.ResourceList, error) {
	list, err := c.helmKube.Build(r, validate)
	if err != nil || c.run == "" {
		return list, err
	}
	for _, info := range list {
		if info.Name == c.run && info.Mapping != nil && info.Mapping.GroupVersionKind == batchv1.SchemeGroupVersion.WithKind("Job") {
			nf, err := notFoundClient()
			if err != nil {
				return nil, err
			}
			info.Client = freshJob{RESTClient: info.Client, notFound: nf}
		}
	}
	return list, nil
}

// freshJob is the REST client of a run's Job for Helm: its GETs are 404
// without a request; its create (POST) and everything else go to the API
// server.
type freshJob struct {
	resource.RESTClient
	notFound *rest.RESTClient
}

func (f freshJob) Get() *rest.Request { return f.notFound.Get() }

var notFoundClient = sync.OnceValues(func() (*rest.RESTClient, error) {
	content := rest.ClientContentConfig{ContentType: runtime.ContentTypeJSON,
		Negotiator: runtime.NewClientNegotiator(scheme.Codecs.WithoutConversion(), batchv1.SchemeGroupVersion)}
	return rest.NewRESTClient(&url.URL{Scheme: "https", Host: "fresh-run.invalid"}, "/apis/batch/v1", content, nil,
		&http.Client{Transport: notFoundTransport{}})
})

// notFoundTransport answers every request 404 (a Status, as the API
// server words it) and sends nothing.
type notFoundTransport struct{}

func (notFoundTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
	body := `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`
	return &http.Response{StatusCode: http.StatusNotFound, Status: "404 Not Found", Request: req,
		Header: http.Header{"Content-Type": {runtime.ContentTypeJSON}}, Body: io.NopCloser(strings.NewReader(body))}, nil
}
