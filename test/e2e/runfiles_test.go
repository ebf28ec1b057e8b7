package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// TestRunFilesSharedAndCollected: runs of a job with a file share one files
// Secret per content (20 runs keep one, an edit of the files makes a
// second), each run with a secret parameter has its own small Secret, and
// deleting the runs removes all of them (review N2).
func TestRunFilesSharedAndCollected(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	f := filepath.Join(t.TempDir(), "blob")
	blob := strings.Repeat("0123456789abcdef", 16<<10) // 256 KiB
	if err := os.WriteFile(f, []byte(blob), 0o644); err != nil {
		t.Fatal(err)
	}
	createSimJob(t, ns, "shared", "--file", "/blob="+f, "--param", "TOKEN=none", "--secret-param", "TOKEN", "--retention", "1h")
	count := func(kind string) int {
		return len(strings.Fields(cluster.Kubectl(t, "-n", ns, "get", "secrets", "-l", "shipjob.dev/kind="+kind+",shipjob.dev/job=shared", "-o", "name")))
	}
	const n = 20
	var runs []string
	for i := range n {
		runs = append(runs, trigger(t, ns, "shared", "--param", "TOKEN=s"+string(rune('a'+i))))
	}
	files := filesSecretOf(t, ns, runs[0])
	if got := count("run-files"); got != 1 {
		t.Fatalf("%d runs keep %d files Secrets, want 1", n, got)
	}
	owners := cluster.Kubectl(t, "-n", ns, "get", "secret", files, "-o", "jsonpath={.metadata.ownerReferences[*].name} {.immutable}")
	for _, r := range runs {
		if filesSecretOf(t, ns, r) != files || !strings.Contains(owners, r) {
			t.Errorf("run %s: mounts %s, files owned by %q", r, filesSecretOf(t, ns, r), owners)
		}
	}
	if !strings.HasSuffix(owners, " true") {
		t.Errorf("files Secret not immutable: %q", owners)
	}
	if got := count("run-params"); got != n {
		t.Fatalf("%d params Secrets, want one per run (%d)", got, n)
	}
	p := cluster.Kubectl(t, "-n", ns, "get", "secret", runs[3]+"-params", "-o", "jsonpath={.data.param-TOKEN} {.metadata.ownerReferences[*].name}")
	if p != "c2Q= "+runs[3] { // "sd"
		t.Errorf("params Secret of %s: %q", runs[3], p)
	}
	if data := cluster.Kubectl(t, "-n", ns, "get", "secret", files, "-o", "jsonpath={.data}"); strings.Contains(data, "param-") {
		t.Errorf("the shared files Secret holds a parameter: %.200s", data)
	}

	// Editing the files: a second Secret for the runs from now on.
	if err := os.WriteFile(f, []byte(blob+"!"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustShipjob(t, "set", "shared", "-n", ns, "--file", "/blob="+f)
	next := trigger(t, ns, "shared")
	if got := filesSecretOf(t, ns, next); got == files || count("run-files") != 2 {
		t.Fatalf("after editing the files the run mounts %s (%d files Secrets), want a second one", got, count("run-files"))
	}

	// Deleting every run removes every Secret of theirs.
	cluster.Kubectl(t, "-n", ns, "delete", "jobs", "-l", "shipjob.dev/kind=run,shipjob.dev/job=shared", "--cascade=background")
	eventually(t, 90*time.Second, "the garbage collector to remove the runs' Secrets", func() bool {
		return count("run-files") == 0 && count("run-params") == 0
	})
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(ns).Get(context.Background(), "shipjob-job-shared", metav1.GetOptions{}); err != nil {
		t.Errorf("the definition went with its runs: %v", err)
	}
}
