package run

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// releaseCache is a Helm storage driver for one trigger: Helm's own Secrets
// driver does the writes, but a release's history is listed from the API
// server once and then served from memory — Helm reads it four times per
// upgrade (Last, Deployed, History...). Used by one goroutine at a time.
type releaseCache struct {
	*driver.Secrets
	secrets corev1client.SecretInterface
	name    string
	loaded  bool
	byKey   map[string]*release.Release
}

var _ driver.Driver = (*releaseCache)(nil)

func newReleaseCache(secrets corev1client.SecretInterface, name string) *releaseCache {
	return &releaseCache{Secrets: driver.NewSecrets(cachedLists{secrets}), secrets: secrets, name: name, byKey: map[string]*release.Release{}}
}

// cachedLists lists Secrets from the API server's watch cache
// (resourceVersion "0") instead of with a consistent read. A consistent LIST
// waits until the watch cache has caught up with etcd's newest revision,
// which on a cluster with writes going on (every run's pods are) took 60 ms
// of a 70 ms trigger here. A history read from the cache may miss a revision
// written a moment ago; that is safe because every write that depends on it
// is checked by the API server: the next revision is a Create that fails
// with AlreadyExists (the trigger retries, see busy), and healing a pending
// release re-reads it consistently first (see attempt).
type cachedLists struct {
	corev1client.SecretInterface
}

func (s cachedLists) List(ctx context.Context, opts metav1.ListOptions) (*corev1.SecretList, error) {
	if opts.ResourceVersion == "" {
		opts.ResourceVersion = "0"
	}
	return s.SecretInterface.List(ctx, opts)
}

func (c *releaseCache) load() error {
	if c.loaded {
		return nil
	}
	list, err := c.Secrets.Query(map[string]string{"name": c.name, "owner": "helm"})
	if err != nil && err != driver.ErrReleaseNotFound {
		return err
	}
	for _, r := range list {
		c.byKey[releaseKey(r.Name, r.Version)] = r
	}
	c.loaded = true
	return nil
}

func releaseKey(name string, version int) string {
	return "sh.helm.release.v1." + name + ".v" + strconv.Itoa(version)
}

// Query serves queries for this release's records from the cache.
func (c *releaseCache) Query(labels map[string]string) ([]*release.Release, error) {
	if labels["name"] != c.name {
		return c.Secrets.Query(labels)
	}
	if err := c.load(); err != nil {
		return nil, err
	}
	var out []*release.Release
	for _, r := range c.byKey {
		if matches(r, labels) {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, driver.ErrReleaseNotFound
	}
	return out, nil
}

func matches(r *release.Release, labels map[string]string) bool {
	for k, v := range labels {
		switch k {
		case "name":
			if r.Name != v {
				return false
			}
		case "owner":
			if v != "helm" {
				return false
			}
		case "status":
			if r.Info == nil || r.Info.Status.String() != v {
				return false
			}
		case "version":
			if strconv.Itoa(r.Version) != v {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// Get serves cached records.
func (c *releaseCache) Get(key string) (*release.Release, error) {
	if r, ok := c.byKey[key]; ok {
		return r, nil
	}
	return c.Secrets.Get(key)
}

// Create writes a record and remembers it.
func (c *releaseCache) Create(key string, r *release.Release) error {
	if err := c.Secrets.Create(key, r); err != nil {
		return err
	}
	c.byKey[key] = r
	return nil
}

// Update writes a record and remembers it.
func (c *releaseCache) Update(key string, r *release.Release) error {
	if err := c.Secrets.Update(key, r); err != nil {
		return err
	}
	c.byKey[key] = r
	return nil
}

// Delete removes a record in one request (Helm's driver reads it first).
func (c *releaseCache) Delete(key string) (*release.Release, error) {
	r, ok := c.byKey[key]
	if !ok {
		return c.Secrets.Delete(key)
	}
	if err := c.secrets.Delete(context.Background(), key, metav1.DeleteOptions{}); err != nil {
		return nil, fmt.Errorf("delete release record %s: %w", key, err)
	}
	delete(c.byKey, key)
	return r, nil
}

// prune deletes old records in one request once there are more than
// keep+slack of them, keeping the newest keep and the last deployed one:
// history stays bounded at about one request per slack triggers.
func (c *releaseCache) prune(ctx context.Context, keep, slack int) error {
	if len(c.byKey) <= keep+slack {
		return nil
	}
	all := make([]*release.Release, 0, len(c.byKey))
	for _, r := range c.byKey {
		all = append(all, r)
	}
	sort.Slice(all, func(a, b int) bool { return all[a].Version > all[b].Version })
	deployedKept := false
	var versions []string
	for i, r := range all {
		deployed := r.Info != nil && r.Info.Status == release.StatusDeployed
		if i < keep || (deployed && !deployedKept) {
			deployedKept = deployedKept || deployed
			continue
		}
		versions = append(versions, strconv.Itoa(r.Version))
	}
	if len(versions) == 0 {
		return nil
	}
	sel := fmt.Sprintf("owner=helm,name=%s,version in (%s)", c.name, strings.Join(versions, ","))
	if err := c.secrets.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: sel}); err != nil {
		return fmt.Errorf("prune release history of %s: %w", c.name, err)
	}
	for _, r := range all {
		for _, v := range versions {
			if strconv.Itoa(r.Version) == v {
				delete(c.byKey, releaseKey(r.Name, r.Version))
			}
		}
	}
	return nil
}
