package run

import (
	"helm.sh/helm/v3/pkg/kube"
	"k8s.io/cli-runtime/pkg/resource"
)

// runKube is Helm's kube client for triggers. A run's resources always have
// new, unique names, and earlier runs carry helm.sh/resource-policy: keep
// (which Helm's Update honours by leaving them alone): so an upgrade's
// Update is exactly a Create of the new resources — without Helm's GETs of
// every old and new object. Reachability shows on the first real request.
type runKube struct {
	*kube.Client
	created []*resource.Info
}

var _ kube.Interface = (*runKube)(nil)

// IsReachable skips Helm's /version probe.
func (c *runKube) IsReachable() error { return nil }

// Create creates resources and remembers them (with their UIDs).
func (c *runKube) Create(resources kube.ResourceList) (*kube.Result, error) {
	res, err := c.Client.Create(resources)
	if err == nil {
		c.created = append(c.created, resources...)
	}
	if res == nil {
		// Helm's Upgrade reads the result even on errors (in a goroutine,
		// where a nil result would crash the process).
		res = &kube.Result{}
	}
	return res, err
}

// Update creates the target's resources; see runKube.
func (c *runKube) Update(_, target kube.ResourceList, _ bool) (*kube.Result, error) {
	return c.Create(target)
}
