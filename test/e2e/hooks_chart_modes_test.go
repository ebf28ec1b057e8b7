package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// chartServerArgs returns the arguments of `hooks serve` as the chart
// installed as release "hooks" in home renders them for its Deployment, for
// a server run here in place of its pods: what only makes sense in a pod
// (listen address, cache dir, log level) is left to the caller.
func chartServerArgs(t *testing.T, home string) []string {
	t.Helper()
	out := cluster.Kubectl(t, "-n", home, "get", "deploy/hooks-shipjob-hooks", "-o", "jsonpath={.spec.template.spec.containers[0].args}")
	var args []string
	if err := json.Unmarshal([]byte(out), &args); err != nil || len(args) < 2 || args[0] != "hooks" || args[1] != "serve" {
		t.Fatalf("chart's server args %q: %v", out, err)
	}
	var kept []string
	for _, a := range args[2:] {
		if !strings.HasPrefix(a, "--listen=") && !strings.HasPrefix(a, "--cache-dir=") && !strings.HasPrefix(a, "--log-level=") {
			kept = append(kept, a)
		}
	}
	return kept
}

// hookPost triggers through the hook API with an optional Idempotency-Key.
func hookPost(t *testing.T, url, token, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/api/v1/dh", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Deploy-Hook-Token", token)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := hookClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// TestHookChartRoleIsEnoughInEveryMode installs the chart for real in each
// mode of its values, in a namespace of its own serving a jobs namespace,
// and runs the server with the chart's ServiceAccount token and the
// Deployment's own arguments. Each call of the table then answers as
// documented — an Allow job with the default maxActiveRuns (lists runs), a
// Forbid job (409 while its run is active), a Replace job twice (the first
// run is cancelled: a patch of its Job), an Idempotency-Key twice (the same
// run) — and the audit log shows no request of the ServiceAccount
// forbidden (N3). With notifications on, the leader also processes the
// cancelled run's end; with schedules on (the default, also with
// notifications off), it runs a scheduled job and list shows its next run.
func TestHookChartRoleIsEnoughInEveryMode(t *testing.T) {
	t.Parallel()
	modes := []struct {
		name          string
		set           []string
		notify, sched bool
	}{
		{"notifications on", nil, true, true},
		{"notifications off", []string{"notifications.enabled=false"}, false, true},
		{"notifications on, Role, no leader election", []string{"rbac.roleKind=Role", "leaderElection.enabled=false"}, true, true},
		{"notifications off, Role", []string{"notifications.enabled=false", "rbac.roleKind=Role"}, false, true},
		{"notifications and schedules off", []string{"notifications.enabled=false", "server.schedules=false"}, false, false},
	}
	// One call of the hook API and its documented answer; check, if set,
	// looks further (runs: the run each call answered, by index).
	type call struct {
		job, key string
		code     int
		body     string
		check    func(t *testing.T, ns string, runs []string)
	}
	calls := []call{
		{job: "allow", code: 201},
		{job: "allow", code: 201},
		{job: "forbid", code: 201},
		{job: "forbid", code: 409, body: "forbids concurrent runs"},
		{job: "replace", code: 201},
		{job: "replace", code: 201, check: func(t *testing.T, ns string, runs []string) {
			first, second := runs[4], runs[5]
			if first == second {
				t.Fatalf("Replace: both triggers answered run %s", first)
			}
			eventually(t, 60*time.Second, "run "+first+" cancelled, replaced by "+second, func() bool {
				for _, r := range listRuns(t, ns, "replace") {
					if r.Name == first {
						return r.Phase == "Cancelled" && strings.Contains(r.Message, "replaced by "+second)
					}
				}
				return false
			})
		}},
		{job: "keyed", key: "ci:build-1", code: 201},
		{job: "keyed", key: "ci:build-1", code: 200, check: func(t *testing.T, ns string, runs []string) {
			if runs[6] != runs[7] {
				t.Fatalf("Idempotency-Key: second call answered run %s, want %s", runs[7], runs[6])
			}
			if got := runJobs(t, ns, "keyed"); len(got) != 1 {
				t.Fatalf("Idempotency-Key: runs %v, want one", got)
			}
		}},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			home, ns := cluster.Namespace(t, false), cluster.Namespace(t, false)
			user, saToken := installHookChart(t, home, append([]string{"server.namespaces={" + ns + "}"}, mode.set...)...)
			tokens := map[string]string{}
			for job, policy := range map[string]string{"allow": "Allow", "forbid": "Forbid", "replace": "Replace", "keyed": "Allow"} {
				// The default maxActiveRuns (10): every trigger lists the job's runs.
				createSimJob(t, ns, job, "--env", "SIM_DURATION=120s", "--concurrency-policy", policy, "--max-active-runs", "10")
				_, tokens[job] = createHook(t, ns, job, "CI")
			}
			createSimJob(t, ns, "tick", "--schedule", "every=@every 5s", "--max-active-runs", "0")
			args := append(chartServerArgs(t, home), "--token", saToken)
			if slices.Contains(args, "--notifications=true") != mode.notify {
				t.Fatalf("server args %v: want notifications %v", args, mode.notify)
			}
			if slices.Contains(args, "--schedules=true") != mode.sched {
				t.Fatalf("server args %v: want schedules %v", args, mode.sched)
			}
			srv := startHookServer(t, args...)
			runs := make([]string, len(calls))
			for i, c := range calls {
				code, body := hookPost(t, srv.URL, tokens[c.job], c.key)
				if code != c.code || !strings.Contains(body, c.body) {
					t.Fatalf("call %d (%s, key %q): %d %s, want %d %q", i, c.job, c.key, code, body, c.code, c.body)
				}
				if code == 200 || code == 201 {
					tr := decodeTriggered(t, body)
					runs[i] = tr.Run
					if sc, b, err := hookCall(http.MethodGet, srv.URL+tr.StatusURL, tokens[c.job], "", ""); err != nil || sc != 200 {
						t.Fatalf("call %d: status of %s: %d %s %v", i, tr.Run, sc, b, err)
					}
				}
				if c.check != nil {
					c.check(t, ns, runs)
				}
			}
			if mode.notify {
				// The cancelled run ended: its end is processed under the same role.
				cancelled := runs[4]
				eventually(t, 60*time.Second, "the end of run "+cancelled+" processed", func() bool {
					return getJob(t, ns, cancelled).Annotations["shipjob.dev/ended"] != ""
				})
			}
			if mode.sched {
				eventually(t, 30*time.Second, "a scheduled run", func() bool { return len(scheduledRuns(t, ns, "tick")) >= 1 })
				listHonest(t, ns, "tick")
			} else if n := len(scheduledRuns(t, ns, "tick")); n != 0 {
				t.Errorf("%d scheduled runs with server.schedules=false", n)
			}
			must(t, ns, "suspend", "tick")
			if code := srv.stop(t); code != 0 {
				t.Fatalf("server exit %d", code)
			}
			used, forbidden := auditedRequests(t, user)
			t.Logf("requests of %s: %s", user, strings.Join(used, " "))
			if len(forbidden) > 0 {
				t.Fatalf("forbidden to the chart's role: %v (used %v)", forbidden, used)
			}
			for _, v := range []string{"list jobs.batch", "patch jobs.batch", "create jobs.batch"} {
				if !slices.Contains(used, v) {
					t.Errorf("the calls did not %s under the chart's role (used %v)", v, used)
				}
			}
			if slices.Contains(used, "update leases.coordination.k8s.io") != mode.sched && !mode.notify {
				t.Errorf("schedules %v: heartbeat or leader Lease updates %v (used %v)", mode.sched, !mode.sched, used)
			}
			if mode.notify && !slices.Contains(used, "update jobs.batch") {
				t.Errorf("run-end processing did not update jobs.batch under the chart's role (used %v)", used)
			}
		})
	}
}
