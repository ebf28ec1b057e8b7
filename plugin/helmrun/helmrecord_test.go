package helmrun

import (
	"context"
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/charts"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	helmtime "helm.sh/helm/v3/pkg/time"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// TestRecordsAreHelms: the release records written here are the ones
// Helm's Secrets driver writes (type, labels), and Helm's driver (ours,
// Helm's CLI: `helm history`, `helm get`) reads them back as they were
// written, after a create and after an update.
func TestRecordsAreHelms(t *testing.T) {
	at := helmtime.Time{Time: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}
	rel := &release.Release{Name: "job", Namespace: "ns", Version: 4, Chart: runChartRecord(), Manifest: "kind: Job\n",
		Config: map[string]any{"run": "job-1"}, Labels: map[string]string{"shipjob.dev/rate": "3"},
		Info: &release.Info{Status: release.StatusPendingUpgrade, FirstDeployed: at, LastDeployed: at, Description: "run job-1"}}
	key := releaseKey("job", 4)
	ours, helms := fake.NewClientset(), fake.NewClientset()
	for step, write := range []func(c *releaseCache, d *driver.Secrets) (error, error){
		func(c *releaseCache, d *driver.Secrets) (error, error) { return c.Create(key, rel), d.Create(key, rel) },
		func(c *releaseCache, d *driver.Secrets) (error, error) {
			rel.Info.Status = release.StatusDeployed
			return c.Update(key, rel), d.Update(key, rel)
		},
	} {
		ourErr, helmErr := write(newReleaseCache(ours.CoreV1().Secrets("ns"), "job"), driver.NewSecrets(helms.CoreV1().Secrets("ns")))
		if ourErr != nil || helmErr != nil {
			t.Fatalf("step %d: ours %v, Helm's %v", step, ourErr, helmErr)
		}
		a, err := ours.CoreV1().Secrets("ns").Get(t.Context(), key, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := helms.CoreV1().Secrets("ns").Get(t.Context(), key, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sameTime := func(l map[string]string) map[string]string {
			l = maps.Clone(l)
			for _, k := range []string{"createdAt", "modifiedAt"} {
				if v, ok := l[k]; ok && v != "" {
					l[k] = "set"
				}
			}
			return l
		}
		if a.Type != b.Type || !reflect.DeepEqual(sameTime(a.Labels), sameTime(b.Labels)) || a.Name != b.Name {
			t.Errorf("step %d: our record %s %v, Helm's %s %v", step, a.Type, a.Labels, b.Type, b.Labels)
		}
		got, err := driver.NewSecrets(ours.CoreV1().Secrets("ns")).Get(key)
		if err != nil {
			t.Fatalf("step %d: Helm's driver reads our record: %v", step, err)
		}
		want, err := driver.NewSecrets(helms.CoreV1().Secrets("ns")).Get(key)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("step %d: Helm reads our record as %+v, its own as %+v", step, got, want)
		}
		if hist, err := driver.NewSecrets(ours.CoreV1().Secrets("ns")).Query(map[string]string{"name": "job", "owner": "helm", "status": rel.Info.Status.String()}); err != nil || len(hist) != 1 {
			t.Errorf("step %d: Helm's history query finds %d records (%v)", step, len(hist), err)
		}
	}
	// A record of that revision exists: a second create says so as Helm's
	// driver does, which the trigger's retry relies on (busy).
	if err := newReleaseCache(ours.CoreV1().Secrets("ns"), "job").Create(key, rel); err != driver.ErrReleaseExists {
		t.Errorf("create over an existing record: %v, want driver.ErrReleaseExists", err)
	}
}

// BenchmarkEncodeRecord is one release record's encoding: ours (default
// gzip level, compressors reused) and Helm's driver's (best compression, a
// new compressor per record).
func BenchmarkEncodeRecord(b *testing.B) {
	c, err := charts.Run()
	if err != nil {
		b.Fatal(err)
	}
	rel := &release.Release{Name: "job", Namespace: "ns", Version: 4, Chart: c, Manifest: "kind: Job\n",
		Info: &release.Info{Status: release.StatusDeployed}}
	var ourSize, helmSize int
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			data, err := encodeRecord(rel)
			if err != nil {
				b.Fatal(err)
			}
			ourSize = len(data)
		}
		b.ReportMetric(float64(ourSize), "record-bytes")
	})
	b.Run("helm", func(b *testing.B) {
		b.ReportAllocs()
		sink := &discardSecrets{}
		d := driver.NewSecrets(sink)
		for b.Loop() {
			if err := d.Create(releaseKey("job", 4), rel); err != nil {
				b.Fatal(err)
			}
		}
		helmSize = sink.size
		b.ReportMetric(float64(helmSize), "record-bytes")
	})
}

// discardSecrets takes Helm's driver's writes and keeps only their size.
type discardSecrets struct {
	corev1client.SecretInterface
	size int
}

func (d *discardSecrets) Create(_ context.Context, s *corev1.Secret, _ metav1.CreateOptions) (*corev1.Secret, error) {
	d.size = len(s.Data["release"])
	return s, nil
}
