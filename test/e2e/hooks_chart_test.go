package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

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

// TestHookChartInstallsAndItsRoleIsEnough lints and installs
// charts/shipjob-hooks, then runs the server as a process with the chart's
// ServiceAccount token (so with exactly the chart's Role) and checks in the
// API server's audit log that it never was forbidden anything.
func TestHookChartInstallsAndItsRoleIsEnough(t *testing.T) {
	t.Parallel()
	helm := helm3(t)
	chart, _ := filepath.Abs("../../charts/shipjob-hooks")
	for _, set := range []string{"", "server.allNamespaces=true,ingress.enabled=true"} {
		args := []string{"lint", "--strict", chart}
		if set != "" {
			args = append(args, "--set", set)
		}
		if out, err := exec.Command(helm, args...).CombinedOutput(); err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ns := cluster.Namespace(t, false)
	install := exec.Command(helm, "install", "hooks", chart, "-n", ns, "--kubeconfig", cluster.Shared.Kubeconfig,
		"--set", "image.repository=example.com/acme/sim", "--set", "image.tag=1", "--wait", "--timeout", "90s")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("helm install: %v\n%s", err, out)
	}
	ready := cluster.Kubectl(t, "-n", ns, "get", "deploy/hooks-shipjob-hooks", "-o", "jsonpath={.status.readyReplicas}")
	if ready != "2" {
		t.Fatalf("ready replicas %q, want 2", ready)
	}
	sa := "hooks-shipjob-hooks"
	saToken := strings.TrimSpace(cluster.Kubectl(t, "-n", ns, "create", "token", sa))

	files := filepath.Join(t.TempDir(), "app.conf")
	if err := os.WriteFile(files, []byte("x=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	createSimJob(t, ns, "deploy", "--param", "TARGET=a", "--file", "/etc/app.conf="+files)
	_, token := createHook(t, ns, "deploy", "CI")
	srv := startHookServer(t, "-n", ns, "--token", saToken, "--rate-limit", "0")
	// Install, then upgrades past the history limit (pruning), with files.
	var last string
	for i := range 5 {
		code, body, err := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", token, "application/json", `{"imageTag":"2"}`)
		if err != nil || code != 201 {
			t.Fatalf("trigger %d as the chart's ServiceAccount: %d %s %v", i, code, body, err)
		}
		last = decodeTriggered(t, body).StatusURL
	}
	if code, body, _ := hookCall(http.MethodGet, last, token, "", ""); code != 200 {
		t.Fatalf("status as the chart's ServiceAccount: %d %s", code, body)
	}
	if code := srv.stop(t); code != 0 {
		t.Fatalf("server exit %d", code)
	}

	user := "system:serviceaccount:" + ns + ":" + sa
	used, forbidden := auditedRequests(t, user)
	t.Logf("requests of %s: %s", user, strings.Join(used, " "))
	if len(forbidden) > 0 || len(used) == 0 {
		t.Fatalf("forbidden to the chart's Role: %v (used %v)", forbidden, used)
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
