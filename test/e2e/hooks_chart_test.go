package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// helm3 is the helm v3 CLI (SHIPJOB_HELM3, else the Makefile's cache).
func helm3(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("SHIPJOB_HELM3")
	if bin == "" {
		bin, _ = filepath.Abs("../../.cache/tools/helm-v3.22.0/helm")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("helm v3 not found (set SHIPJOB_HELM3 or run make tools): %v", err)
	}
	return bin
}

// hookChart is the path of charts/shipjob-hooks.
func hookChart(t *testing.T) string {
	t.Helper()
	chart, err := filepath.Abs("../../charts/shipjob-hooks")
	if err != nil {
		t.Fatal(err)
	}
	return chart
}

// TestHookChartLintsAndRendersNoClusterBinding: helm lint --strict passes
// for the defaults, a served namespace and for a namespace list with
// NetworkPolicy and Ingress; the removed server.allNamespaces and a
// NetworkPolicy without the API server's address are refused; no values
// render a ClusterRoleBinding (H4, L7).
func TestHookChartLintsAndRendersNoClusterBinding(t *testing.T) {
	t.Parallel()
	helm := helm3(t)
	chart := hookChart(t)
	const jobs = "server.namespaces={jobs}"
	full := "server.namespaces={jobs-b,jobs-a},networkPolicy.enabled=true,networkPolicy.apiServer.cidrs={10.0.0.1/32},ingress.enabled=true"
	// The defaults too: lint reports the required server.namespaces as INFO.
	for _, set := range []string{"", jobs, full, full + ",rbac.roleKind=Role", jobs + ",image.digest=sha256:" + strings.Repeat("a", 64),
		jobs + ",server.tls.secretName=hooks-tls,server.externalURL=https://hooks.example.com"} {
		args := []string{"lint", "--strict", chart}
		if set != "" {
			args = append(args, "--set", set)
		}
		if out, err := exec.Command(helm, args...).CombinedOutput(); err != nil {
			t.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// helm lint reports a template's fail only as INFO: render instead.
	for set, want := range map[string]string{
		jobs + ",server.allNamespaces=true":        "server.allNamespaces was removed",
		jobs + ",networkPolicy.enabled=true":       "networkPolicy.apiServer.cidrs is required",
		"server.namespaces={Not_A_Namespace}":      "is not a namespace name",
		jobs + ",rbac.roleKind=ClusterRoleBinding": "rbac.roleKind must be ClusterRole or Role",
	} {
		out, err := exec.Command(helm, "template", "hooks", chart, "--set", set).CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("helm template --set %s: %v, want an error %q\n%s", set, err, want, out)
		}
	}
	// Schedules (on by default) keep a leader with notifications off, and
	// their heartbeat Lease rule in the served namespaces.
	for set, want := range map[string]struct {
		bindings int
		leases   bool
	}{
		"leaderElection.enabled=false":                        {1, true},
		"notifications.enabled=false":                         {2, true},
		"notifications.enabled=false,server.schedules=false":  {1, false},
		"leaderElection.enabled=false,server.schedules=false": {1, false},
	} {
		out, err := exec.Command(helm, "template", "hooks", chart, "-n", "hooks", "--set", jobs+","+set).CombinedOutput()
		if err != nil {
			t.Fatalf("helm template --set %s: %v\n%s", set, err, out)
		}
		m := string(out)
		if strings.Count(m, "kind: RoleBinding") != want.bindings || strings.Contains(m, "leases") != want.leases ||
			strings.Contains(m, "shipjob-schedules") != want.leases {
			t.Errorf("--set %s: want %d RoleBindings, a Lease rule %v:\n%s", set, want.bindings, want.leases, m)
		}
	}
	for _, set := range []string{jobs, full, full + ",rbac.roleKind=Role"} {
		args := []string{"template", "hooks", chart, "-n", "hooks", "--set", set}
		out, err := exec.Command(helm, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("helm template --set %s: %v\n%s", set, err, out)
		}
		m := string(out)
		if strings.Contains(m, "kind: ClusterRoleBinding") {
			t.Errorf("--set %s renders a ClusterRoleBinding", set)
		}
		want := []string{"jobs"}
		if set != jobs {
			want = []string{"jobs-a", "jobs-b"}
		}
		// One per served namespace, and the Lease's in the release namespace.
		if n := strings.Count(m, "kind: RoleBinding"); n != len(want)+1 {
			t.Errorf("--set %s: %d RoleBindings, want %d", set, n, len(want)+1)
		}
		if arg := "--namespaces=" + strings.Join(want, ","); !strings.Contains(m, arg) {
			t.Errorf("--set %s: server args lack %s", set, arg)
		}
		if !strings.Contains(m, "unhealthyPodEvictionPolicy: AlwaysAllow") {
			t.Errorf("--set %s: the PDB lacks unhealthyPodEvictionPolicy: AlwaysAllow", set)
		}
	}
}

// installHookChart installs the chart as release "hooks" in ns with extra
// --set values (or flags, such as --values=FILE, when they start with "-")
// and returns the server's ServiceAccount user name and token.
func installHookChart(t *testing.T, ns string, set ...string) (user, token string) {
	t.Helper()
	args := []string{"install", "hooks", hookChart(t), "-n", ns, "--kubeconfig", cluster.Shared.Kubeconfig,
		"--set", "image.repository=example.com/acme/sim", "--set", "image.tag=1", "--wait", "--timeout", "90s"}
	for _, s := range set {
		if strings.HasPrefix(s, "-") {
			args = append(args, s)
		} else {
			args = append(args, "--set", s)
		}
	}
	if out, err := exec.Command(helm3(t), args...).CombinedOutput(); err != nil {
		t.Fatalf("helm install: %v\n%s", err, out)
	}
	ready := cluster.Kubectl(t, "-n", ns, "get", "deploy/hooks-shipjob-hooks", "-o", "jsonpath={.status.readyReplicas}")
	if ready != "2" {
		t.Fatalf("ready replicas %q, want 2", ready)
	}
	sa := "hooks-shipjob-hooks"
	return "system:serviceaccount:" + ns + ":" + sa, strings.TrimSpace(cluster.Kubectl(t, "-n", ns, "create", "token", sa))
}

// webhookEgressExample writes the networkPolicy.extraEgress example of the
// chart's values.yaml comments (public https receivers) to a values file
// and returns its path, so the documented example is the one tested.
func webhookEgressExample(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(hookChart(t), "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "  #   "
	var example []string
	for _, line := range strings.Split(string(data), "\n") {
		rest, ok := strings.CutPrefix(line, prefix)
		if len(example) == 0 && (!ok || rest != "extraEgress:") {
			continue
		}
		if !ok {
			break
		}
		example = append(example, "  "+rest)
	}
	if len(example) < 2 {
		t.Fatalf("no extraEgress example in the chart's values.yaml")
	}
	file := filepath.Join(t.TempDir(), "egress.yaml")
	if err := os.WriteFile(file, []byte("networkPolicy:\n"+strings.Join(example, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// releaseRecords counts the Helm release record Secrets of job in ns.
func releaseRecords(t *testing.T, ns, job string) int {
	t.Helper()
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	list, err := cs.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm,name=" + job})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

// TestHookChartInstallsAndItsRoleIsEnough installs charts/shipjob-hooks,
// then runs the server as a process with the chart's ServiceAccount token
// (so with exactly the chart's role and bindings) and triggers a job 15
// times: Helm history stays within MaxHistory+pruneSlack records (pruning
// works under the chart's role, H2), and the API server's audit log shows
// that it never was forbidden anything.
func TestHookChartInstallsAndItsRoleIsEnough(t *testing.T) {
	t.Parallel()
	// The chart in a namespace of its own, serving the jobs namespace (N4).
	home, ns := cluster.Namespace(t, false), cluster.Namespace(t, false)
	user, saToken := installHookChart(t, home, "server.namespaces={"+ns+"}")

	files := filepath.Join(t.TempDir(), "app.conf")
	if err := os.WriteFile(files, []byte("x=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	createSimJob(t, ns, "deploy", "--param", "TARGET=a", "--file", "/etc/app.conf="+files)
	// A scheduled job: the leader runs it under the same role (issue 21).
	createSimJob(t, ns, "tick", "--schedule", "every=@every 5s", "--max-active-runs", "0")
	_, token := createHook(t, ns, "deploy", "CI")
	// The chart's Lease: hooks-shipjob-hooks in the release namespace.
	srv := startHookServer(t, "--namespaces", ns, "--token", saToken, "--rate-limit", "0",
		"--leader-election-namespace", home, "--leader-election-lease-name", "hooks-shipjob-hooks",
		"--leader-election-lease-duration", "3s", "--leader-election-renew-deadline", "2s", "--leader-election-retry-period", "500ms")
	// Install, then upgrades well past the history limit (pruning twice),
	// with files. run.MaxHistory (3) + pruneSlack (5).
	const triggers, maxRecords = 15, 3 + 5
	var last string
	most := 0
	for i := range triggers {
		code, body, err := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", token, "application/json", `{"imageTag":"2"}`)
		if err != nil || code != 201 {
			t.Fatalf("trigger %d as the chart's ServiceAccount: %d %s %v", i, code, body, err)
		}
		last = srv.URL + decodeTriggered(t, body).StatusURL // a path without --external-url
		n := releaseRecords(t, ns, "deploy")
		most = max(most, n)
		if n > maxRecords {
			t.Fatalf("after trigger %d: %d Helm release records, want at most %d (history not pruned)", i+1, n, maxRecords)
		}
	}
	t.Logf("at most %d Helm release records over %d triggers", most, triggers)
	if code, body, _ := hookCall(http.MethodGet, last, token, "", ""); code != 200 {
		t.Fatalf("status as the chart's ServiceAccount: %d %s", code, body)
	}
	// The leader processes the runs' ends (TTL, Event) with the same role.
	lastRun := path.Base(last)
	eventually(t, 60*time.Second, "the end of run "+lastRun+" processed", func() bool {
		return getJob(t, ns, lastRun).Annotations["shipjob.dev/ended"] != ""
	})
	eventually(t, 30*time.Second, "a scheduled run", func() bool { return len(scheduledRuns(t, ns, "tick")) >= 1 })
	listHonest(t, ns, "tick")
	must(t, ns, "suspend", "tick")
	if code := srv.stop(t); code != 0 {
		t.Fatalf("server exit %d", code)
	}

	used, forbidden := auditedRequests(t, user)
	t.Logf("requests of %s: %s", user, strings.Join(used, " "))
	if slices.Contains(forbidden, "deletecollection secrets") {
		t.Errorf("pruning tried deletecollection, which the chart's role does not grant (one delete per record needs only delete)")
	}
	if len(forbidden) > 0 || len(used) == 0 {
		t.Fatalf("forbidden to the chart's role: %v (used %v)", forbidden, used)
	}
	if !slices.Contains(used, "delete secrets") {
		t.Fatalf("no delete of Secrets by name: history was not pruned (used %v)", used)
	}
	for _, v := range []string{"watch jobs.batch", "update jobs.batch", "create events", "update leases.coordination.k8s.io",
		"get leases.coordination.k8s.io"} {
		if !slices.Contains(used, v) {
			t.Errorf("run-end processing did not %s under the chart's role (used %v)", v, used)
		}
	}
}

// TestHookChartSchedulesWithoutNotifications: with notifications.enabled=false
// the chart still elects a leader that runs schedules, and its role (with
// none of the run-end verbs) is enough: no 403 in the audit log.
func TestHookChartSchedulesWithoutNotifications(t *testing.T) {
	t.Parallel()
	home, ns := cluster.Namespace(t, false), cluster.Namespace(t, false)
	user, saToken := installHookChart(t, home, "server.namespaces={"+ns+"}", "notifications.enabled=false")
	createSimJob(t, ns, "tick", "--schedule", "every=@every 5s", "--max-active-runs", "0")
	srv := startHookServer(t, "--namespaces", ns, "--token", saToken, "--notifications=false",
		"--leader-election-namespace", home, "--leader-election-lease-name", "hooks-shipjob-hooks",
		"--leader-election-lease-duration", "3s", "--leader-election-renew-deadline", "2s", "--leader-election-retry-period", "500ms")
	eventually(t, 30*time.Second, "two scheduled runs", func() bool { return len(scheduledRuns(t, ns, "tick")) >= 2 })
	listHonest(t, ns, "tick")
	must(t, ns, "suspend", "tick")
	if code := srv.stop(t); code != 0 {
		t.Fatalf("server exit %d", code)
	}
	used, forbidden := auditedRequests(t, user)
	t.Logf("requests of %s: %s", user, strings.Join(used, " "))
	if len(forbidden) > 0 || len(used) == 0 {
		t.Fatalf("forbidden to the chart's role: %v (used %v)", forbidden, used)
	}
	for _, v := range []string{"create events", "update leases.coordination.k8s.io", "list jobs.batch", "watch secrets"} {
		if !slices.Contains(used, v) {
			t.Errorf("scheduling did not %s under the chart's role (used %v)", v, used)
		}
	}
	if slices.Contains(used, "watch jobs.batch") {
		t.Errorf("run ends were processed with notifications off (used %v)", used)
	}
}

// TestHookChartServesListedNamespacesOnly installs the chart in its own
// namespace serving two others: the server (with the chart's ServiceAccount
// token) triggers the hooks of both, a hook in a third namespace is 404,
// and the ServiceAccount can touch no Secret outside the two (H4). The
// NetworkPolicy (with values.yaml's webhook egress example) and the PDB
// (unhealthyPodEvictionPolicy) are accepted by the API server (L7).
func TestHookChartServesListedNamespacesOnly(t *testing.T) {
	t.Parallel()
	home, a, b, other := cluster.Namespace(t, false), cluster.Namespace(t, false), cluster.Namespace(t, false), cluster.Namespace(t, false)
	// The NetworkPolicy is not enforced here (no CNI), but the API server
	// validates it.
	user, saToken := installHookChart(t, home, "server.namespaces={"+a+","+b+"}",
		"networkPolicy.enabled=true", "networkPolicy.apiServer.cidrs={127.0.0.1/32}", "--values="+webhookEgressExample(t))
	tokens := map[string]string{}
	for _, ns := range []string{a, b, other} {
		createSimJob(t, ns, "deploy")
		_, tokens[ns] = createHook(t, ns, "deploy", "CI")
	}
	srv := startHookServer(t, "--namespaces", a+","+b, "--token", saToken, "--rate-limit", "0",
		"--leader-election-namespace", home, "--leader-election-lease-name", "hooks-shipjob-hooks")
	for _, ns := range []string{a, b} {
		code, body, err := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", tokens[ns], "application/json", "")
		if err != nil || code != 201 {
			t.Fatalf("trigger in listed namespace %s: %d %s %v", ns, code, body, err)
		}
		if tr := decodeTriggered(t, body); tr.Namespace != ns || tr.Job != "deploy" {
			t.Fatalf("trigger in %s ran %s/%s", ns, tr.Namespace, tr.Job)
		}
	}
	if code, body, err := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", tokens[other], "application/json", ""); err != nil || code != 404 {
		t.Fatalf("hook of unlisted namespace %s: %d %s %v, want 404", other, code, body, err)
	}
	if runs := runJobs(t, other, "deploy"); len(runs) != 0 {
		t.Fatalf("runs in unlisted namespace: %v", runs)
	}
	if code := srv.stop(t); code != 0 {
		t.Fatalf("server exit %d", code)
	}

	for _, tc := range []struct {
		ns, verb string
		want     string
	}{
		{a, "get", "yes"}, {b, "watch", "yes"},
		{other, "get", "no"}, {other, "list", "no"}, {other, "create", "no"},
		{home, "get", "no"}, {"kube-system", "list", "no"}, {"", "list", "no"},
	} {
		args := []string{"auth", "can-i", tc.verb, "secrets", "--as=" + user}
		if tc.ns == "" {
			args = append(args, "--all-namespaces")
		} else {
			args = append(args, "-n", tc.ns)
		}
		res := cluster.Run(t, "", "kubectl", args...)
		if got := strings.TrimSpace(res.Stdout); got != tc.want {
			t.Errorf("kubectl %s: %q (%s), want %q", strings.Join(args, " "), got, res.Stderr, tc.want)
		}
	}
	if out := cluster.Kubectl(t, "get", "clusterrolebindings", "-o", "jsonpath={range .items[*]}{.subjects}{\"\\n\"}{end}"); strings.Contains(out, home) {
		t.Errorf("a ClusterRoleBinding names the server's ServiceAccount:\n%s", out)
	}
	if got := cluster.Kubectl(t, "-n", home, "get", "pdb/hooks-shipjob-hooks", "-o", "jsonpath={.spec.unhealthyPodEvictionPolicy}"); got != "AlwaysAllow" {
		t.Errorf("PDB unhealthyPodEvictionPolicy %q, want AlwaysAllow", got)
	}
	// The webhook egress example of values.yaml, as the API server accepted it.
	if got := cluster.Kubectl(t, "-n", home, "get", "networkpolicy/hooks-shipjob-hooks", "-o",
		`jsonpath={range .spec.egress[*].to[*].ipBlock}{.cidr} except {.except}{"\n"}{end}`); !strings.Contains(got, `0.0.0.0/0 except ["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16","100.64.0.0/10","169.254.0.0/16"]`) {
		t.Errorf("NetworkPolicy egress lacks the webhook example:\n%s", got)
	}
	used, forbidden := auditedRequests(t, user)
	if len(forbidden) > 0 || len(used) == 0 {
		t.Fatalf("forbidden to the chart's role: %v (used %v)", forbidden, used)
	}
}

// auditedRequests returns the distinct "verb resource" pairs user made, and
// those answered 403.
func auditedRequests(t *testing.T, user string) (used, forbidden []string) {
	t.Helper()
	f, err := os.Open(cluster.Shared.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen, denied := map[string]bool{}, map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if !strings.Contains(sc.Text(), user) {
			continue
		}
		var ev struct {
			Verb           string
			RequestURI     string
			User           struct{ Username string }
			ObjectRef      *struct{ Resource, Subresource, APIGroup string }
			ResponseStatus struct{ Code int }
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.User.Username != user {
			continue
		}
		what := ev.Verb + " " + strings.SplitN(ev.RequestURI, "?", 2)[0]
		if ev.ObjectRef != nil {
			what = ev.Verb + " " + strings.TrimSuffix(ev.ObjectRef.Resource+"."+ev.ObjectRef.APIGroup, ".")
		}
		seen[what] = true
		if ev.ResponseStatus.Code == http.StatusForbidden {
			denied[what] = true
		}
	}
	for k := range seen {
		used = append(used, k)
	}
	for k := range denied {
		forbidden = append(forbidden, k)
	}
	sort.Strings(used)
	sort.Strings(forbidden)
	return used, forbidden
}

// TestHookChartRefusesItsReleaseNamespace: server.namespaces must be set,
// and may contain the release namespace only with
// server.allowReleaseNamespace=true, since the server could otherwise
// rewrite the chart's own release records (N4). helm template refuses with
// one line naming the value; helm install of a refused value writes
// nothing to the cluster.
func TestHookChartRefusesItsReleaseNamespace(t *testing.T) {
	t.Parallel()
	helm := helm3(t)
	chart := hookChart(t)
	home := cluster.Namespace(t, false)
	required := "server.namespaces is required: the jobs namespaces to serve, other than the release namespace " + strconv.Quote(home)
	contains := "server.namespaces contains the release namespace " + strconv.Quote(home) + ": the server could rewrite this chart's own release records"
	for _, tc := range []struct {
		name string
		set  []string
		want string // the error, or "" for a chart that renders
		args string // with want "": the server's --namespaces
	}{
		{"empty", nil, required, ""},
		{"empty list", []string{"server.namespaces={}"}, required, ""},
		{"null", []string{"server.namespaces=null"}, required, ""},
		{"empty without RBAC", []string{"rbac.create=false", "serviceAccount.create=false", "serviceAccount.name=hooks"}, required, ""},
		{"not a list", []string{"server.namespaces=jobs"}, `server.namespaces must be a list, e.g. --set 'server.namespaces={jobs}', not "jobs"`, ""},
		{"release namespace", []string{"server.namespaces={" + home + "}"}, contains, ""},
		{"release namespace among others", []string{"server.namespaces={jobs," + home + "}"}, contains, ""},
		{"release namespace, not allowed", []string{"server.namespaces={" + home + "}", "server.allowReleaseNamespace=false"}, contains, ""},
		{"release namespace allowed", []string{"server.namespaces={" + home + "}", "server.allowReleaseNamespace=true"}, "", home},
		{"other namespace", []string{"server.namespaces={jobs}"}, "", "jobs"},
		{"other namespace, allowed anyway", []string{"server.namespaces={jobs}", "server.allowReleaseNamespace=true"}, "", "jobs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"template", "hooks", chart, "-n", home}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			cmd := exec.Command(helm, args...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
				}
				if arg := "--namespaces=" + tc.args; !strings.Contains(string(out), arg) {
					t.Errorf("server args lack %s", arg)
				}
				if n := strings.Count(string(out), "namespace: "+tc.args+"\n"); n < 1 {
					t.Errorf("no RoleBinding in %s", tc.args)
				}
				return
			}
			// One line, and helm template's own hint after it.
			msg, hint, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
			if hint = strings.TrimSpace(hint); hint != "" && hint != "Use --debug flag to render out invalid YAML" {
				msg += "\n" + hint
			}
			if err == nil || !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") || len(out) != 0 {
				t.Fatalf("helm %s: %v, stderr %q, stdout %d bytes; want one line with %q and no output", strings.Join(args, " "), err, stderr.String(), len(out), tc.want)
			}
			// A real install of the same values fails alike and writes nothing.
			fingerprint := func() string {
				return cluster.Kubectl(t, "-n", home, "get", "secrets,serviceaccounts,deployments,services,roles,rolebindings,poddisruptionbudgets,leases",
					"-o", "custom-columns=KIND:.kind,NAME:.metadata.name,RV:.metadata.resourceVersion", "--sort-by=.metadata.name")
			}
			before := fingerprint()
			install := append([]string{"install", "hooks", chart, "-n", home, "--kubeconfig", cluster.Shared.Kubeconfig}, args[5:]...)
			if out, err := exec.Command(helm, install...).CombinedOutput(); err == nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("helm %s: %v, want an error %q\n%s", strings.Join(install, " "), err, tc.want, out)
			}
			if after := fingerprint(); after != before {
				t.Errorf("a refused install changed namespace %s:\nbefore:\n%s\nafter:\n%s", home, before, after)
			}
			if out := cluster.Kubectl(t, "get", "clusterroles,roles,rolebindings", "-A", "-l", "app.kubernetes.io/instance=hooks",
				"-o", `jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}`); strings.Contains(out, home) {
				t.Errorf("a refused install created RBAC objects:\n%s", out)
			}
		})
	}
}
