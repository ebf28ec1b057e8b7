package helmrun

import (
	"errors"
	"fmt"
	"io"
	"time"

	"helm.sh/helm/v3/pkg/kube"
	v1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/resource"
)

// helmKube is Helm's kube client (kube.Client, unchanged) narrowed to the
// two operations our releases need: Build manifests and Create a run's
// resources. Our releases never wait for their resources and have no
// hooks, so waiting is refused instead of done, and so is deleting.
//
// Why not hand *kube.Client to Helm directly: a concrete type that is ever
// stored in an interface keeps every exported method in the binary (the
// linker cannot tell which ones text/template may call through reflection),
// and kube.Client's Update (three-way merges), Wait and log streaming then
// cost about 0.3 MB of the release binary (BENCHMARKS.md, "Binary size").
// Through method values only these two are linked.
type helmKube struct {
	build  func(io.Reader, bool) (kube.ResourceList, error)
	create func(kube.ResourceList) (*kube.Result, error)
}

var _ kube.Interface = (*helmKube)(nil)

func newHelmKube(f *helmFactory) *helmKube {
	kc := &kube.Client{Factory: f, Log: discardLog}
	return &helmKube{build: kc.Build, create: kc.Create}
}

// errNoWait is returned by the waits of helmKube: our releases never set
// Helm's --wait and their chart has no hooks.
var errNoWait = errors.New("kubectl-shipjob's Helm releases do not wait for resources")

// IsReachable skips Helm's /version probe: reachability shows on the first
// real request.
func (c *helmKube) IsReachable() error { return nil }

func (c *helmKube) Build(r io.Reader, validate bool) (kube.ResourceList, error) {
	return c.build(r, validate)
}

func (c *helmKube) Create(resources kube.ResourceList) (*kube.Result, error) {
	return c.create(resources)
}

// Delete is refused: what Helm deletes comes from a release record (an
// uninstall's manifest, a hook's delete policy), a Secret anyone who may
// update Secrets in the namespace can edit. Deleting a job deletes its
// records by name instead (DeleteJob), and a trigger deletes nothing.
func (c *helmKube) Delete(kube.ResourceList) (*kube.Result, []error) {
	return nil, []error{errNoDelete}
}

// errNoDelete is returned by helmKube's Delete.
var errNoDelete = errors.New("deleting Helm release resources: not done by kubectl-shipjob (a release record is not trusted to say what to delete)")

// Update is not used by our releases: see runKube.
func (c *helmKube) Update(_, _ kube.ResourceList, _ bool) (*kube.Result, error) {
	return nil, fmt.Errorf("update Helm release resources: not supported by kubectl-shipjob")
}

func (c *helmKube) Wait(kube.ResourceList, time.Duration) error         { return errNoWait }
func (c *helmKube) WaitWithJobs(kube.ResourceList, time.Duration) error { return errNoWait }
func (c *helmKube) WatchUntilReady(kube.ResourceList, time.Duration) error {
	return errNoWait
}
func (c *helmKube) WaitAndGetCompletedPodPhase(string, time.Duration) (v1.PodPhase, error) {
	return v1.PodUnknown, errNoWait
}

// runKube is the kube client of one trigger. A run's resources always have
// new, unique names, and earlier runs carry helm.sh/resource-policy: keep
// (which Helm's Update honours by leaving them alone): so an upgrade's
// Update is exactly a Create of the new resources — without Helm's GETs of
// every old and new object.
type runKube struct {
	*helmKube
	// run is the name of the run's Job (see Build).
	run     string
	created []*resource.Info
	// admit, if set, is asked before the resources are created: Helm calls
	// Create only after it wrote the release's pending record, so admit
	// runs while this trigger holds the job's release (across processes)
	// and decides on what every earlier trigger did.
	admit func() error
	// refused is admit's error: the run was not created.
	refused error
}

// Create creates resources and remembers them (with their UIDs).
func (c *runKube) Create(resources kube.ResourceList) (*kube.Result, error) {
	if c.admit != nil {
		if err := c.admit(); err != nil {
			c.refused = err
			return &kube.Result{}, err
		}
	}
	res, err := c.helmKube.Create(resources)
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

// job returns the run's Job if this client created it (nil otherwise, and
// for a nil client).
func (c *runKube) job(runName string) *resource.Info {
	if c == nil {
		return nil
	}
	for _, info := range c.created {
		if info.Mapping != nil && info.Mapping.GroupVersionKind.Kind == "Job" && info.Name == runName {
			return info
		}
	}
	return nil
}
