package e2e

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	helmtime "helm.sh/helm/v3/pkg/time"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// markLastRelease sets the newest release record of name to status, as a
// trigger killed mid-upgrade (SIGKILL, lost connection) leaves it.
func markLastRelease(t *testing.T, ns, name string, status release.Status) {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Namespace = &cluster.Shared.Kubeconfig, &ns
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, ns, "secret", func(string, ...interface{}) {}); err != nil {
		t.Fatal(err)
	}
	rel, err := cfg.Releases.Last(name)
	if err != nil {
		t.Fatal(err)
	}
	rel.SetStatus(status, "simulated interrupted trigger")
	// Killed a minute ago: older than a live trigger can be.
	rel.Info.LastDeployed = helmtime.Now().Add(-time.Minute)
	if err := cfg.Releases.Update(rel); err != nil {
		t.Fatal(err)
	}
}

func TestTriggerHealsReleaseLeftPending(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "heal")
	trigger(t, ns, "heal")
	for _, status := range []release.Status{release.StatusPendingInstall, release.StatusPendingUpgrade, release.StatusPendingRollback} {
		markLastRelease(t, ns, "heal", status)
		res := shipjob(t, "run", "heal", "-n", ns)
		if res.Code != 0 {
			t.Fatalf("trigger after a release left %s: exit %d: %s", status, res.Code, res.Stderr)
		}
	}
	if runs := listRuns(t, ns, "heal"); len(runs) != 4 {
		t.Fatalf("%d runs, want 4", len(runs))
	}
}

func TestTriggerKilledMidUpgradeDoesNotBlockTheNext(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "killed")
	trigger(t, ns, "killed")
	// Kill triggers (SIGKILL: no cleanup) at many points of their work; every
	// following trigger must succeed, healing what the killed one left.
	// SHIPJOB_STALE_AFTER shortens how long a pending release counts as live.
	// Every 5 ms up to 150 ms; on a loaded machine, where a trigger takes
	// longer to reach its release record, on in steps of 20 ms until one
	// kill has left it pending (at most 2 s).
	leftPending := 0
	for after := 5 * time.Millisecond; after <= 150*time.Millisecond || (leftPending == 0 && after <= 2*time.Second); {
		cmd := exec.Command(cluster.PluginBin, "run", "killed", "-n", ns)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(after) // on purpose: the kill comes at a later point of the trigger each time
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		labels := cluster.Kubectl(t, "-n", ns, "get", "secrets", "-l", "owner=helm,name=killed", "-o", "jsonpath={.items[*].metadata.labels.status}")
		if strings.Contains(labels, "pending") {
			leftPending++
		}
		next := exec.Command(cluster.PluginBin, "run", "killed", "-n", ns)
		next.Env = append(os.Environ(), "SHIPJOB_STALE_AFTER=2s")
		if out, err := next.CombinedOutput(); err != nil {
			t.Fatalf("trigger after one killed at %s: %v: %s", after, err, out)
		}
		if after < 150*time.Millisecond {
			after += 5 * time.Millisecond
		} else {
			after += 20 * time.Millisecond
		}
	}
	if leftPending == 0 {
		t.Fatal("no killed trigger left its release pending: the test did not exercise the heal")
	}
	t.Logf("%d killed triggers left a pending release; all were healed", leftPending)
	labels := cluster.Kubectl(t, "-n", ns, "get", "secrets", "-l", "owner=helm,name=killed", "-o", "jsonpath={.items[*].metadata.labels.status}")
	if strings.Contains(labels, "pending") {
		t.Fatalf("release records left pending: %s", labels)
	}
}
