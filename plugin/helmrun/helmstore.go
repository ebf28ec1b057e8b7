package helmrun

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// releaseCache is a Helm storage driver for one trigger: Helm's own Secrets
// driver does the writes, but a release's history is listed from the API
// server once and then served from memory — Helm reads it four times per
// upgrade (Last, Deployed, History...). Used by one goroutine at a time
// (Helm is never handed a context that ends, so its upgrade never goes on
// in a goroutine of its own after returning: see releaser.Upgrade).
type releaseCache struct {
	*driver.Secrets
	secrets *recordSecrets
	name    string
	loaded  bool
	byKey   map[string]*release.Release
	// writing are record writes going on (see Update, flush).
	writing []chan struct{}
}

var _ driver.Driver = (*releaseCache)(nil)

func newReleaseCache(secrets corev1client.SecretInterface, name string) *releaseCache {
	rs := &recordSecrets{SecretInterface: secrets, meta: map[string]metav1.ObjectMeta{}, ifMatch: map[string]string{}}
	return &releaseCache{Secrets: driver.NewSecrets(rs), secrets: rs, name: name, byKey: map[string]*release.Release{}}
}

// recordSecrets is the Secrets client under Helm's driver. It lists from
// the API server's watch cache (resourceVersion "0") instead of with a
// consistent read: a consistent LIST waits until the watch cache has
// caught up with etcd's newest revision, which on a cluster with writes
// going on (every run's pods are) took 60 ms of a 70 ms trigger here. A
// history read from the cache may miss a revision written a moment ago;
// that is safe because every write that depends on it is checked by the
// API server: the next revision is a Create that fails with AlreadyExists
// (the trigger retries, see busy), and healing a pending release re-reads
// it consistently and updates it only at the resourceVersion it read (see
// heal). It also remembers the metadata of the records it has seen: their
// creationTimestamp is the server's time of their creation.
type recordSecrets struct {
	corev1client.SecretInterface
	meta    map[string]metav1.ObjectMeta
	ifMatch map[string]string // record name -> resourceVersion its next Update must match
	// created is the resourceVersion of the record this trigger created:
	// everything done before it (earlier triggers' Jobs) is at or below it.
	created string
	// createdName is that record's name (its key).
	createdName string
	// prefetched, if set, answers the first List of the history.
	prefetched *prefetched
	// listed is the resourceVersion of the last List of the history.
	listed string
	// creating, if set, is called once with listed as the first Create
	// begins (the record that takes the release; see
	// run.UpgradeOptions.Speculate).
	creating func(listed string)
}

func (s *recordSecrets) Create(ctx context.Context, sec *corev1.Secret, opts metav1.CreateOptions) (*corev1.Secret, error) {
	if f := s.creating; f != nil && s.listed != "" {
		s.creating = nil
		f(s.listed)
	}
	out, err := s.SecretInterface.Create(ctx, sec, opts)
	if err == nil && out != nil {
		s.created, s.createdName = out.ResourceVersion, out.Name
	}
	return out, err
}

func (s *recordSecrets) List(ctx context.Context, opts metav1.ListOptions) (*corev1.SecretList, error) {
	if opts.ResourceVersion == "" {
		opts.ResourceVersion = "0"
	}
	list, ok := s.prefetched.take(opts)
	s.prefetched = nil
	var err error
	if !ok {
		list, err = s.SecretInterface.List(ctx, opts)
	}
	if err == nil {
		s.listed = list.ResourceVersion
		for i := range list.Items {
			s.meta[list.Items[i].Name] = list.Items[i].ObjectMeta
		}
	}
	return list, err
}

func (s *recordSecrets) Update(ctx context.Context, sec *corev1.Secret, opts metav1.UpdateOptions) (*corev1.Secret, error) {
	return s.SecretInterface.Update(ctx, s.matching(sec), opts)
}

// matching is sec at the resourceVersion its record's next Update must
// match, if one was set (see updateIfUnchanged), which it consumes.
func (s *recordSecrets) matching(sec *corev1.Secret) *corev1.Secret {
	if rv, ok := s.ifMatch[sec.Name]; ok {
		sec = sec.DeepCopy()
		sec.ResourceVersion = rv
		delete(s.ifMatch, sec.Name)
	}
	return sec
}

// fixedSecret serves one Secret already read to Helm's driver (which
// decodes it), so a record read with its metadata costs one request.
type fixedSecret struct {
	corev1client.SecretInterface
	secret *corev1.Secret
}

func (f fixedSecret) Get(context.Context, string, metav1.GetOptions) (*corev1.Secret, error) {
	return f.secret, nil
}

// getFresh reads a record consistently, with its Secret's metadata.
func (c *releaseCache) getFresh(ctx context.Context, key string) (*release.Release, metav1.ObjectMeta, error) {
	sec, err := c.secrets.SecretInterface.Get(ctx, key, metav1.GetOptions{})
	if err != nil {
		return nil, metav1.ObjectMeta{}, err
	}
	rel, err := driver.NewSecrets(fixedSecret{secret: sec}).Get(key)
	return rel, sec.ObjectMeta, err
}

// createdAt is the server's time of a record's creation as last listed
// (zero if unknown).
func (c *releaseCache) createdAt(key string) time.Time {
	return c.secrets.meta[key].CreationTimestamp.Time
}

// updateIfUnchanged writes r only if its record is still at
// resourceVersion rv: a heal never overwrites what a live trigger wrote
// after the heal read it (the API server answers Conflict).
func (c *releaseCache) updateIfUnchanged(key string, r *release.Release, rv string) error {
	c.secrets.ifMatch[key] = rv
	return c.Update(key, r)
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

// Delete removes a record in one request (Helm's driver reads it first).
func (c *releaseCache) Delete(key string) (*release.Release, error) {
	r, ok := c.byKey[key]
	if !ok {
		return c.Secrets.Delete(key)
	}
	if err := c.secrets.SecretInterface.Delete(context.Background(), key, metav1.DeleteOptions{}); err != nil {
		return nil, fmt.Errorf("delete release record %s: %w", key, err)
	}
	delete(c.byKey, key)
	return r, nil
}

// prune deletes old records once there are more than keep+slack of them,
// keeping the newest keep and the last deployed one: history stays bounded.
// It deletes them in one DeleteCollection (the verb "deletecollection")
// unless byName, or the API server forbids that: then one Delete per record
// (the verb "delete", which is all the hook chart's Role grants). It
// returns whether DeleteCollection was forbidden, how many records it
// could not delete, and the first error.
func (c *releaseCache) prune(ctx context.Context, keep, slack int, byName bool) (forbidden bool, failed int, err error) {
	if len(c.byKey) <= keep+slack {
		return false, 0, nil
	}
	all := make([]*release.Release, 0, len(c.byKey))
	for _, r := range c.byKey {
		all = append(all, r)
	}
	sort.Slice(all, func(a, b int) bool { return all[a].Version > all[b].Version })
	deployedKept := false
	var old []*release.Release
	for i, r := range all {
		deployed := r.Info != nil && r.Info.Status == release.StatusDeployed
		if i < keep || (deployed && !deployedKept) {
			deployedKept = deployedKept || deployed
			continue
		}
		old = append(old, r)
	}
	if len(old) == 0 {
		return false, 0, nil
	}
	if !byName {
		versions := make([]string, len(old))
		for i, r := range old {
			versions[i] = strconv.Itoa(r.Version)
		}
		sel := fmt.Sprintf("owner=helm,name=%s,version in (%s)", c.name, strings.Join(versions, ","))
		err := c.secrets.SecretInterface.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: sel})
		switch {
		case err == nil:
			for _, r := range old {
				delete(c.byKey, releaseKey(r.Name, r.Version))
			}
			return false, 0, nil
		case !apierrors.IsForbidden(err):
			return false, len(old), fmt.Errorf("prune release history of %s: %w", c.name, err)
		}
		forbidden = true
	}
	keys := make([]string, len(old))
	for i, r := range old {
		keys[i] = releaseKey(r.Name, r.Version)
	}
	deleted, err := deleteRecordsByName(ctx, c.secrets.SecretInterface, keys, metav1.DeleteOptions{})
	for _, key := range deleted {
		delete(c.byKey, key)
	}
	if err != nil {
		err = fmt.Errorf("prune release history of %s: %w", c.name, err)
	}
	return forbidden, len(keys) - len(deleted), err
}

// deleteRecordsByName deletes release records, one Delete (the verb
// "delete") each, up to pruneParallel at once: a trigger that prunes a
// few records waits for one round trip, not one each (they made the hook
// server's p99: BENCHMARKS.md, "Hook throughput"). A record already gone
// counts as deleted. It goes on past failures and returns the keys
// deleted and the first error (in keys' order).
func deleteRecordsByName(ctx context.Context, secrets corev1client.SecretInterface, keys []string, opts metav1.DeleteOptions) (deleted []string, err error) {
	errs := make([]error, len(keys))
	sem := make(chan struct{}, pruneParallel)
	var wg sync.WaitGroup
	for i, key := range keys {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if derr := secrets.Delete(ctx, key, opts); derr != nil && !apierrors.IsNotFound(derr) {
				errs[i] = fmt.Errorf("delete release record %s: %w", key, derr)
			}
		}()
	}
	wg.Wait()
	for i, key := range keys {
		if errs[i] != nil {
			if err == nil {
				err = errs[i]
			}
			continue
		}
		deleted = append(deleted, key)
	}
	return deleted, err
}

// pruneParallel bounds the record deletes made at once.
const pruneParallel = 8

// prefetched is a job's release history listed as its trigger began
// (releaser.Prefetch), while the trigger reads the job's definition.
type prefetched struct {
	done     chan struct{}
	selector string
	list     *corev1.SecretList
	err      error
}

// Prefetch lists the release history of job name in ns (from the API
// server's watch cache, as recordSecrets lists it) while the trigger goes
// on: the first attempt of Upgrade takes that list instead of listing
// (one round trip less per trigger). The list is of the records that
// existed when the trigger began, as a list from the watch cache may be
// anyway (see recordSecrets).
func (r *releaser) Prefetch(ctx context.Context, ns, name string) (any, func()) {
	pf := &prefetched{done: make(chan struct{}), selector: historySelector(name)}
	go func() {
		defer close(pf.done)
		pf.list, pf.err = r.client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: pf.selector, ResourceVersion: "0"})
	}()
	return pf, func() { <-pf.done }
}

// historySelector is the label selector of Helm's driver's query of a
// release's history (name and owner).
func historySelector(name string) string {
	return labels.Set{"name": name, "owner": "helm"}.AsSelector().String()
}

// take answers a List of the history with the prefetched one, once.
func (pf *prefetched) take(opts metav1.ListOptions) (*corev1.SecretList, bool) {
	if pf == nil || opts.LabelSelector != pf.selector || opts.ResourceVersion != "0" || opts.Limit != 0 || opts.Continue != "" {
		return nil, false
	}
	<-pf.done
	return pf.list, pf.err == nil
}
