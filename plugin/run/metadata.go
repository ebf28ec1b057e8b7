package run

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// listMetadata lists the metadata only of the Secrets matching selector
// (from the watch cache): the API server leaves their data out, which for
// a job's files Secrets can be a MiB each.
func listMetadata(ctx context.Context, client kubernetes.Interface, ns, selector string) ([]metav1.PartialObjectMetadata, error) {
	rc, ok := client.CoreV1().RESTClient().(*rest.RESTClient)
	if !ok || rc == nil {
		// A fake clientset (tests) has no REST client: list whole objects.
		list, err := client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil, err
		}
		out := make([]metav1.PartialObjectMetadata, len(list.Items))
		for i := range list.Items {
			out[i] = metav1.PartialObjectMetadata{ObjectMeta: list.Items[i].ObjectMeta}
		}
		return out, nil
	}
	data, err := rc.Get().Namespace(ns).Resource("secrets").
		Param("labelSelector", selector).Param("resourceVersion", "0").
		SetHeader("Accept", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1").
		DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("list secrets' metadata: %w", err)
	}
	var list metav1.PartialObjectMetadataList
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("decode secrets' metadata: %w", err)
	}
	return list.Items, nil
}
