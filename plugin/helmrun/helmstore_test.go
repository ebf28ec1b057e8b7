package helmrun

import (
	"errors"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	helmtime "helm.sh/helm/v3/pkg/time"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func seedRelease(t *testing.T, cs *fake.Clientset, status release.Status, deployed time.Time) {
	t.Helper()
	rel := &release.Release{Name: "job", Namespace: "ns", Version: 3,
		Info: &release.Info{Status: status, LastDeployed: helmtime.Time{Time: deployed}}}
	if err := newReleaseCache(cs.CoreV1().Secrets("ns"), "job").Secrets.Create(releaseKey("job", 3), rel); err != nil {
		t.Fatal(err)
	}
}

// TestReleaseHistoryFromWatchCache: the history LIST asks for
// resourceVersion 0 (served from the API server's cache, no wait for a
// consistent read); single reads stay consistent.
func TestReleaseHistoryFromWatchCache(t *testing.T) {
	cs := fake.NewClientset()
	seedRelease(t, cs, release.StatusDeployed, time.Now())
	var listRV []string
	cs.PrependReactor("list", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		listRV = append(listRV, a.(k8stesting.ListActionImpl).GetListOptions().ResourceVersion)
		return false, nil, nil
	})
	cache := newReleaseCache(cs.CoreV1().Secrets("ns"), "job")
	last, err := storage.Init(cache).Last("job")
	if err != nil || last.Version != 3 {
		t.Fatalf("Last = %v, %v", last, err)
	}
	if len(listRV) != 1 || listRV[0] != "0" {
		t.Errorf("history LISTs with resourceVersion %q, want one with \"0\"", listRV)
	}
}

// TestHealRereadsStaleHistory: a release that the cached history shows as
// pending for longer than a trigger can take is re-read consistently before
// it is healed; if it has finished meanwhile the trigger retries (errBusy)
// and the record is left as it is.
func TestHealRereadsStaleHistory(t *testing.T) {
	cs := fake.NewClientset()
	seedRelease(t, cs, release.StatusDeployed, time.Now().Add(-time.Minute))
	// The cache is behind: it still has the record as pending-upgrade.
	stale, err := cs.CoreV1().Secrets("ns").Get(t.Context(), releaseKey("job", 3), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	staleRel := &release.Release{Name: "job", Namespace: "ns", Version: 3, Chart: runChartRecord(),
		Info: &release.Info{Status: release.StatusPendingUpgrade, LastDeployed: helmtime.Time{Time: time.Now().Add(-time.Minute)}}}
	tmp := fake.NewClientset()
	if err := newReleaseCache(tmp.CoreV1().Secrets("ns"), "job").Secrets.Create(releaseKey("job", 3), staleRel); err != nil {
		t.Fatal(err)
	}
	staleSecret, _ := tmp.CoreV1().Secrets("ns").Get(t.Context(), releaseKey("job", 3), metav1.GetOptions{})
	staleSecret.ResourceVersion = stale.ResourceVersion
	cs.PrependReactor("list", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &corev1.SecretList{Items: []corev1.Secret{*staleSecret}}, nil
	})
	var updates int
	cs.PrependReactor("update", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		updates++
		return false, nil, nil
	})

	cache := newReleaseCache(cs.CoreV1().Secrets("ns"), "job")
	cfg := &action.Configuration{Releases: storage.Init(cache)}
	_, err = (&releaser{}).attempt(t.Context(), cfg, cache, nil, &run.Plan{Def: jobdef.New("ns", "job")}, run.UpgradeOptions{StaleAfter: 20 * time.Second})
	if !errors.Is(err, errBusy) {
		t.Fatalf("attempt on a stale pending history: %v, want errBusy", err)
	}
	if updates != 0 {
		t.Errorf("%d updates: a finished release was healed from a stale read", updates)
	}
}
