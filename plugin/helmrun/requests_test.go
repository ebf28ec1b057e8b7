package helmrun

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stesting "k8s.io/client-go/testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef/jobdeftest"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// TestTriggerRequestBudget lists every API request of one trigger in
// steady state (the job has been triggered before and its earlier run is
// still active) and fails when one is added, removed or reordered: every
// request that is not the release lock, the Job or the files must justify
// itself (issue 23, "Hot path"; the same table is in BENCHMARKS.md). The
// hook server's trigger is this one plus the GET of the hook Secret
// (hookserver.confirm: a revoked hook must not trigger on a stale watch).
// Pruning (one DELETE-collection, or one DELETE per record for the hook
// server, every pruneSlack triggers) and the orphan-files sweep (at most
// every 5 minutes per job and process) are not in a steady-state trigger.
func TestTriggerRequestBudget(t *testing.T) {
	// why each request is made, by the name the table uses.
	why := map[string]string{
		"get secrets/definition":   "the job's definition, as stored (checked on every trigger)",
		"list secrets/history":     "the release history (watch cache): the lock's next revision, the foreign-chart check, the rate state, a pending release to heal",
		"create secrets/files":     "the job's files Secret (AlreadyExists when a run already uses it)",
		"get secrets/files":        "the existing files Secret, checked to be the one its name claims (it is input)",
		"create secrets/record":    "the release lock: the next revision's record, pending",
		"list jobs/unmarked runs":  "admission and the history bound: the active runs and those ended since the last trigger (watch cache)",
		"list jobs/marked runs":    "the history bound: the ended runs already counted (metadata only, watch cache)",
		"get jobs/conflict check":  "", // Helm's check that the new Job does not exist: answered without a request (freshJob)
		"create jobs/run":          "the run's Job",
		"update secrets/record":    "the new record: deployed",
		"update secrets/previous":  "the previous record: superseded",
		"patch secrets/files":      "the files Secret gets the run's Job as an owner (removed with the last run)",
		"list secrets/history (2)": "", // must not come back: the history is read once per trigger
	}
	tests := []struct {
		name   string
		secret func(t *testing.T) *corev1.Secret
		want   []string
	}{
		{"no files", func(t *testing.T) *corev1.Secret { return jobdeftest.Secret(t) }, []string{
			"get secrets/definition",
			"list secrets/history",
			"create secrets/record",
			"list jobs/unmarked runs",
			"list jobs/marked runs",
			"create jobs/run",
			"update secrets/previous",
			"update secrets/record",
		}},
		// The files are written once the history is read and found the
		// run chart's (it was read twice before: 13 requests).
		{"with files", func(t *testing.T) *corev1.Secret { return jobdeftest.Secret(t, jobdeftest.WithFile) }, []string{
			"get secrets/definition",
			"list secrets/history",
			"create secrets/files",
			"get secrets/files",
			"create secrets/record",
			"list jobs/unmarked runs",
			"list jobs/marked runs",
			"create jobs/run",
			"update secrets/previous",
			"update secrets/record",
			"patch secrets/files",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft := newFakeTrigger(t, 0, tt.secret(t))
			for i := range 2 {
				if _, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", TriggeredBy: "user:test"}); err != nil {
					t.Fatal(err)
				}
				waitReleaseSettled(t, ft, i+1)
			}
			ft.cs.ClearActions()
			ft.conflictGets.Store(0)
			if _, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", TriggeredBy: "user:test"}); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range ft.cs.Actions() {
				name := requestName(a)
				if slices.Contains(got, name) && name == "list secrets/history" {
					name += " (2)"
				}
				if name == "create jobs/run" {
					for range ft.conflictGets.Load() {
						got = append(got, "get jobs/conflict check")
					}
				}
				got = append(got, name)
			}
			got = atOnce(got)
			for _, g := range got {
				if why[g] == "" && g != "list secrets/history (2)" {
					t.Errorf("request %q is not in the budget: name why it is needed, or remove it", g)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("requests of one trigger (%d, budget %d):\n  %s\nwant:\n  %s", len(got), len(tt.want),
					strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// requestName names a request of a trigger for the budget's table.
func requestName(a k8stesting.Action) string {
	res := a.GetVerb() + " " + a.GetResource().Resource + "/"
	switch x := a.(type) {
	case k8stesting.UpdateAction: // before CreateAction, which it also is (and the reverse)
		if a.GetVerb() == "create" {
			break
		}
		// The record this trigger created is revision 3.
		if o, ok := x.GetObject().(*corev1.Secret); ok && o.Name == "sh.helm.release.v1.migrate.v3" {
			return res + "record"
		}
		return res + "previous"
	case k8stesting.GetAction:
		switch {
		case x.GetName() == jobdef.SecretName("migrate"):
			return res + "definition"
		case strings.Contains(x.GetName(), "-files-"):
			return res + "files"
		}
		return res + x.GetName()
	case k8stesting.ListAction:
		sel := x.GetListRestrictions().Labels.String()
		switch {
		case strings.Contains(sel, "owner=helm"):
			return res + "history"
		case strings.Contains(sel, "!shipjob.dev/finished"):
			return res + "unmarked runs"
		case strings.Contains(sel, "shipjob.dev/finished"):
			return res + "marked runs"
		}
		return res + sel
	}
	switch x := a.(type) {
	case k8stesting.CreateAction:
		switch o := x.GetObject().(type) {
		case *corev1.Secret:
			if o.Labels["owner"] == "helm" {
				return res + "record"
			}
			if strings.Contains(o.Name, "-files-") {
				return res + "files"
			}
			return res + o.Name
		}
		return res + "run"
	case k8stesting.PatchAction:
		if strings.Contains(x.GetName(), "-files-") {
			return res + "files"
		}
		return res + x.GetName()
	}
	return fmt.Sprintf("%s %T", res, a)
}

// TestTriggerStoreFailureWritesNoRecord: the run's Secrets are written
// once the release is read; when that fails (the files Secret was changed
// by hand) no record is written and the write is not retried.
func TestTriggerStoreFailureWritesNoRecord(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobdeftest.Secret(t, jobdeftest.WithFile))
	res, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate"})
	if err != nil {
		t.Fatal(err)
	}
	waitReleaseSettled(t, ft, 1)
	files, err := ft.cs.CoreV1().Secrets("ns").Get(t.Context(), filesName(t, ft, res.Run), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k := range files.Data {
		files.Data[k] = []byte("evil")
	}
	if _, err := ft.cs.CoreV1().Secrets("ns").Update(t.Context(), files, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	ft.cs.ClearActions()
	_, err = ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate"})
	if err == nil || !strings.Contains(err.Error(), "exists but is not the files Secret of job migrate") {
		t.Fatalf("trigger = %v, want the changed files refused", err)
	}
	var creates []string
	for _, a := range ft.cs.Actions() {
		if v := a.GetVerb(); v != "get" && v != "list" {
			creates = append(creates, requestName(a))
		}
	}
	if !slices.Equal(creates, []string{"create secrets/files"}) {
		t.Errorf("writes %q, want only the refused create of the files Secret", creates)
	}
	if ft.creates.Load() != 1 {
		t.Errorf("%d Jobs created, want the first trigger's only", ft.creates.Load())
	}
}

// concurrent groups the requests a trigger makes at once (any order among
// them), in the order the budget lists them: the definition and the
// history (Prefetch); the lock's record and the two lists of runs
// (admission reads as of the history, see UpgradeOptions.Speculate); the
// two record updates (releaseCache.Update).
var concurrent = [][]string{
	{"get secrets/definition", "list secrets/history"},
	{"create secrets/record", "list jobs/unmarked runs", "list jobs/marked runs"},
	{"update secrets/previous", "update secrets/record"},
}

// atOnce sorts each run of requests of one concurrent group into the
// group's order.
func atOnce(got []string) []string {
	group := func(name string) (int, int) {
		for g, names := range concurrent {
			if i := slices.Index(names, name); i >= 0 {
				return g, i
			}
		}
		return -1, 0
	}
	out := slices.Clone(got)
	for i := 0; i < len(out); {
		g, _ := group(out[i])
		j := i + 1
		for g >= 0 && j < len(out) {
			if h, _ := group(out[j]); h != g {
				break
			}
			j++
		}
		slices.SortStableFunc(out[i:j], func(a, b string) int {
			_, x := group(a)
			_, y := group(b)
			return x - y
		})
		i = j
	}
	return out
}
