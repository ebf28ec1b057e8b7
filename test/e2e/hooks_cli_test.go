package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

func TestHookCLIManagesHooks(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, true)
	createSimJob(t, ns, "migrate")
	createSimJob(t, ns, "report")

	res := shipjob(t, "hook", "create", "nope", "--name", "x", "-n", ns)
	if res.Code != 1 || !strings.Contains(res.Stderr, `Error from server (NotFound): jobs.shipjob.dev "nope" not found`) {
		t.Fatalf("hook for a missing job: %d %q", res.Code, res.Stderr)
	}
	if res := shipjob(t, "hook", "create", "migrate", "-n", ns); res.Code != 1 || !strings.Contains(res.Stderr, "--name") {
		t.Fatalf("hook without a name: %d %q", res.Code, res.Stderr)
	}
	id, token := createHook(t, ns, "migrate", "CI on main")
	var created struct {
		Kind     string
		Metadata struct{ Name string }
		Token    string
	}
	if err := json.Unmarshal([]byte(mustShipjob(t, "hook", "create", "report", "--name", "nightly", "-n", ns, "-o", "json")), &created); err != nil ||
		created.Kind != "Hook" || !strings.HasPrefix(created.Token, created.Metadata.Name+"_") {
		t.Fatalf("create -o json: %+v %v", created, err)
	}

	// Only the hash is stored, in a Secret named by the hook id and labelled.
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	sec, err := cs.CoreV1().Secrets(ns).Get(context.Background(), "shipjob-hook-"+id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(token))
	_, secret, _ := strings.Cut(token, "_")
	if string(sec.Data["token-sha256"]) != hex.EncodeToString(sum[:]) || len(sec.Data) != 1 || sec.Type != "shipjob.dev/hook" {
		t.Fatalf("stored hook: type %s data %v", sec.Type, sec.Data)
	}
	for _, v := range sec.Annotations {
		if strings.Contains(v, secret) {
			t.Fatal("token in an annotation")
		}
	}
	for k, v := range map[string]string{"app.kubernetes.io/managed-by": "kubectl-shipjob", "shipjob.dev/kind": "hook", "shipjob.dev/hook": id, "shipjob.dev/job": "migrate"} {
		if sec.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, sec.Labels[k], v)
		}
	}

	// The limited user (namespace Role only) manages hooks as well.
	limited := []string{"--context", cluster.LimitedContext, "-n", ns}
	table := mustShipjob(t, append([]string{"hook", "list"}, limited...)...)
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[0], "LAST USED") ||
		!strings.Contains(table, id+"   CI on main   migrate") || !strings.Contains(table, "<never>") {
		t.Fatalf("hook list:\n%s", table)
	}
	if wide := mustShipjob(t, "hook", "list", "migrate", "-o", "wide", "-n", ns); !strings.Contains(wide, "CREATED BY") ||
		!strings.Contains(wide, "user:"+cluster.AdminUser) || strings.Contains(wide, "nightly") {
		t.Fatalf("hook list migrate -o wide:\n%s", wide)
	}
	if names := mustShipjob(t, "hook", "list", "-n", ns, "-o", "name"); strings.Count(names, "hook.shipjob.dev/") != 2 {
		t.Fatalf("-o name:\n%s", names)
	}
	var list struct {
		Kind  string
		Items []struct {
			Metadata struct{ Name string }
			Spec     struct{ Job, Name string }
			Token    string
		}
	}
	if err := json.Unmarshal([]byte(mustShipjob(t, "hook", "list", "-n", ns, "-o", "json")), &list); err != nil ||
		list.Kind != "HookList" || len(list.Items) != 2 || list.Items[0].Spec.Job != "migrate" || list.Items[0].Token != "" {
		t.Fatalf("-o json: %+v %v", list, err)
	}
	if y := mustShipjob(t, "hook", "list", "report", "-n", ns, "-o", "yaml"); !strings.Contains(y, "kind: HookList") || !strings.Contains(y, "name: nightly") {
		t.Fatalf("-o yaml:\n%s", y)
	}

	// Last use appears after the server used the hook and wrote it (on
	// SIGTERM at the latest).
	srv := startHookServer(t, "-n", ns)
	if code, body, _ := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", token, "", ""); code != 201 {
		t.Fatalf("trigger: %d %s", code, body)
	}
	if code := srv.stop(t); code != 0 {
		t.Fatalf("server exit code %d", code)
	}
	if table := mustShipjob(t, "hook", "list", "migrate", "-n", ns); !strings.Contains(table, "s ago") || strings.Contains(table, "<never>") {
		t.Fatalf("last use not shown:\n%s", table)
	}

	if out := mustShipjob(t, append([]string{"hook", "delete", id}, limited...)...); out != "hook.shipjob.dev/"+id+" deleted\n" {
		t.Fatalf("delete: %q", out)
	}
	res = shipjob(t, "hook", "delete", id, "-n", ns)
	if res.Code != 1 || !strings.Contains(res.Stderr, `hooks.shipjob.dev "`+id+`" not found`) {
		t.Fatalf("delete again: %d %q", res.Code, res.Stderr)
	}
	mustShipjob(t, "hook", "delete", id, "--ignore-not-found", "-n", ns)
	// Deleting the job deletes its hooks (they are owned by its Secret).
	mustShipjob(t, "delete", "report", "-n", ns)
	eventually(t, 30*time.Second, "hooks of a deleted job collected", func() bool {
		res := shipjob(t, "hook", "list", "-n", ns)
		return res.Code == 0 && strings.TrimSpace(res.Stdout) == "" && strings.Contains(res.Stderr, "No hooks found")
	})
}

func TestHookServeBadFlags(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "report")
	before := objectVersions(t, ns)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate-limit", "-1"}, "error: --rate-limit must be >= 0 and --rate-burst >= 1"},
		{[]string{"--rate-burst", "0"}, "error: --rate-limit must be >= 0 and --rate-burst >= 1"},
		{[]string{"--kube-api-qps", "-1"}, "error: --kube-api-qps must be >= 0 (0: no client-side limit)"},
		{[]string{"--trigger-timeout", "0s"}, "error: --trigger-timeout and --shutdown-timeout must be positive, --shutdown-delay not negative"},
		{[]string{"--log-level", "loud"}, `error: invalid --log-level "loud": use debug, info, warn or error`},
		{[]string{"--listen", " "}, "error: --listen is required, e.g. :8080"},
		{[]string{"-A"}, "error: --namespace and --all-namespaces cannot be used together"},
		// Review L5, L7.
		{[]string{"--unauthenticated-rate-limit", "-1"}, "error: --unauthenticated-rate-limit and --unauthenticated-rate-burst must be >= 0"},
		{[]string{"--unauthenticated-rate-burst", "-1"}, "error: --unauthenticated-rate-limit and --unauthenticated-rate-burst must be >= 0"},
		{[]string{"--trusted-proxies", "10.0.0.0/33"}, `error: invalid --trusted-proxies: want CIDRs or addresses such as 10.0.0.0/8: netip.ParsePrefix("10.0.0.0/33"): prefix length out of range`},
		{[]string{"--external-url", "hooks.example.com"}, `error: invalid --external-url "hooks.example.com": want an absolute http(s) URL without query or fragment, e.g. https://hooks.example.com`},
		{[]string{"--external-url", "https://hooks.example.com/?a=b"}, `error: invalid --external-url "https://hooks.example.com/?a=b": want an absolute http(s) URL without query or fragment, e.g. https://hooks.example.com`},
		{[]string{"--tls-cert-file", "/nonexistent/tls.crt"}, "error: --tls-cert-file and --tls-key-file must be given together"},
		{[]string{"--tls-key-file", "/nonexistent/tls.key"}, "error: --tls-cert-file and --tls-key-file must be given together"},
		{[]string{"--tls-cert-file", "/nonexistent/tls.crt", "--tls-key-file", "/nonexistent/tls.key"},
			"error: load TLS certificate /nonexistent/tls.crt and key /nonexistent/tls.key: open /nonexistent/tls.crt: no such file or directory"},
		// Review N5, N8.
		{[]string{"--webhook-allow-cidrs", "127.0.0.0/33"}, `error: invalid --webhook-allow-cidrs: want CIDRs such as 10.0.0.0/8 or fd00::/8: "127.0.0.0/33" is not a CIDR`},
		{[]string{"--webhook-deny-cidrs", "example.com"}, `error: invalid --webhook-deny-cidrs: want CIDRs such as 10.0.0.0/8 or fd00::/8: "example.com" is not a CIDR`},
		{[]string{"--cluster-cidrs", "10.244.0.0/16,fd00::/129"}, `error: invalid --cluster-cidrs: want CIDRs such as 10.0.0.0/8 or fd00::/8: "fd00::/129" is not a CIDR`},
		{[]string{"--webhook-connect-timeout", "-1s"}, "error: --webhook-timeout, --webhook-connect-timeout and --webhook-retry-initial must be positive"},
	} {
		res := shipjob(t, append([]string{"hooks", "serve", "-n", ns}, tc.args...)...)
		if res.Code != 1 || res.Stderr != tc.want+"\n" {
			t.Errorf("hooks serve %v: exit %d, stderr %q; want exit 1, %q", tc.args, res.Code, res.Stderr, tc.want)
		}
	}
	if after := objectVersions(t, ns); after != before {
		t.Fatalf("bad hooks serve flags changed the namespace:\n%s\n%s", before, after)
	}
}
