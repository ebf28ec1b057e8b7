package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// TestRunRequestBudget counts, in the API server's audit log, the requests
// of one `kubectl shipjob run` of the real binary in steady state (the job
// has a release and an active run), without and with files: the requests
// TestTriggerRequestBudget names in plugin/helmrun (BENCHMARKS.md, "Issue
// 23: every request of one trigger"), on the local control plane. With
// files the CLI adds the orphan-files sweep's metadata LIST of Secrets: it
// runs at most every 5 minutes per job and process, and every CLI trigger
// is a process of its own.
func TestRunRequestBudget(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	f := filepath.Join(t.TempDir(), "conf")
	if err := os.WriteFile(f, []byte("x=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	createSimJob(t, ns, "plain", "--env", "SIM_DURATION=10m")
	createSimJob(t, ns, "withfiles", "--env", "SIM_DURATION=10m", "--file", "/etc/app.conf="+f)
	for _, tc := range []struct {
		job  string
		want []string
	}{
		{"plain", []string{"create jobs", "create secrets", "get secrets",
			"list jobs", "list jobs", "list secrets", "update secrets", "update secrets"}},
		{"withfiles", []string{"create jobs", "create secrets", "create secrets", "get secrets", "get secrets",
			"list jobs", "list jobs", "list secrets", "list secrets", "patch secrets", "update secrets", "update secrets"}},
	} {
		trigger(t, ns, tc.job)
		trigger(t, ns, tc.job)
		start := time.Now()
		trigger(t, ns, tc.job)
		var got []string
		eventually(t, 10*time.Second, "the trigger's requests in the audit log", func() bool {
			got = pluginRequests(t, ns, start)
			return len(got) >= len(tc.want)
		})
		time.Sleep(time.Second) // nothing more comes
		got = pluginRequests(t, ns, start)
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("job %s: %d requests of one trigger:\n  %s\nwant %d:\n  %s", tc.job, len(got),
				strings.Join(got, "\n  "), len(tc.want), strings.Join(tc.want, "\n  "))
		}
	}
}

// pluginRequests are "verb resource" of the plugin's completed requests in
// ns received at or after since.
func pluginRequests(t *testing.T, ns string, since time.Time) []string {
	t.Helper()
	fh, err := os.Open(cluster.Shared.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var out []string
	for sc.Scan() {
		if !strings.Contains(sc.Text(), `"namespace":"`+ns+`"`) {
			continue
		}
		var ev struct {
			Stage, Verb, UserAgent   string
			RequestReceivedTimestamp time.Time
			ObjectRef                struct{ Resource, Namespace string }
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Stage != "ResponseComplete" || ev.ObjectRef.Namespace != ns ||
			!strings.HasPrefix(ev.UserAgent, "kubectl-shipjob/") || ev.RequestReceivedTimestamp.Before(since) {
			continue
		}
		out = append(out, ev.Verb+" "+ev.ObjectRef.Resource)
	}
	return out
}
