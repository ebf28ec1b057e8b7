package commands

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

func TestHookTable(t *testing.T) {
	used := metav1.NewTime(now.Add(-90 * time.Second))
	hooks := []hook.Hook{
		{ObjectMeta: metav1.ObjectMeta{Name: "abcdefghij", Namespace: "a", CreationTimestamp: metav1.NewTime(now.Add(-2 * time.Hour))},
			Spec: hook.Spec{Job: "migrate", Name: "CI on main", CreatedBy: "user:alice"}, Status: hook.Status{LastUsed: &used}},
		{ObjectMeta: metav1.ObjectMeta{Name: "0123456789", Namespace: "a", CreationTimestamp: metav1.NewTime(now.Add(-time.Minute))},
			Spec: hook.Spec{Job: "report", Name: "nightly"}},
	}
	table := hookTable(hooks, now)
	want := [][]any{
		{"abcdefghij", "CI on main", "migrate", "120m ago", "90s ago", "user:alice"},
		{"0123456789", "nightly", "report", "60s ago", "<never>", "<none>"},
	}
	for i, row := range table.Rows {
		for j, c := range row.Cells {
			if c != want[i][j] {
				t.Errorf("row %d cell %d = %v, want %v", i, j, c, want[i][j])
			}
		}
	}
	if len(table.ColumnDefinitions) != 6 || table.ColumnDefinitions[5].Priority != 1 || table.ColumnDefinitions[4].Name != "Last Used" {
		t.Fatalf("columns %+v", table.ColumnDefinitions)
	}
}

func TestHookCommandsCreateListDelete(t *testing.T) {
	ctx := context.Background()
	j := jobdef.New("team", "migrate")
	j.Spec.Image = "example.com/app"
	sec, err := jobdef.ToSecret(j)
	if err != nil {
		t.Fatal(err)
	}
	tgt := target{Namespace: "team", Client: fake.NewClientset(sec)}
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()

	c := &HookCreateOptions{Job: "migrate", Name: "CI", PrintFlags: genericclioptions.NewPrintFlags(""), target: tgt, IOStreams: streams}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(ctx); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	id, _ := strings.CutPrefix(strings.TrimSuffix(lines[0], " created"), "hook.shipjob.dev/")
	token, _ := strings.CutPrefix(lines[1], "token: ")
	if got, ok := hook.ParseToken(token); !ok || got != id || !strings.Contains(errOut.String(), "shown only now") {
		t.Fatalf("create printed %q / %q", out, errOut)
	}
	missing := &HookCreateOptions{Job: "nope", Name: "CI", PrintFlags: genericclioptions.NewPrintFlags(""), target: tgt, IOStreams: streams}
	if err := missing.Run(ctx); err == nil || FormatError(err) != `Error from server (NotFound): jobs.shipjob.dev "nope" not found` {
		t.Fatalf("hook of a missing job: %v", err)
	}

	out.Reset()
	l := &HookListOptions{PrintFlags: genericclioptions.NewPrintFlags(""), target: tgt, IOStreams: streams}
	if err := l.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), id) || !strings.Contains(out.String(), "<never>") || strings.Contains(out.String(), token) {
		t.Fatalf("list:\n%s", out)
	}
	out.Reset()
	l.Output = "yaml"
	if err := l.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "kind: HookList") || !strings.Contains(out.String(), "name: "+id) {
		t.Fatalf("list -o yaml:\n%s", out)
	}

	out.Reset()
	d := &HookDeleteOptions{IDs: []string{"hook/" + id, "zzzzzzzzzz"}, target: tgt, IOStreams: streams}
	err = d.Run(ctx)
	if out.String() != "hook.shipjob.dev/"+id+" deleted\n" || err == nil || !strings.Contains(FormatError(err), `hooks.shipjob.dev "zzzzzzzzzz" not found`) {
		t.Fatalf("delete: %q, %v", out, err)
	}
	d = &HookDeleteOptions{IDs: []string{id}, IgnoreNotFound: true, target: tgt, IOStreams: streams}
	if err := d.Run(ctx); err != nil {
		t.Fatalf("delete --ignore-not-found: %v", err)
	}
}

func TestHookServeValidate(t *testing.T) {
	ok := HooksServeOptions{Listen: ":8080", RateLimit: 1, RateBurst: 10, TriggerTimeout: time.Minute, ShutdownTimeout: time.Minute,
		UnauthRateLimit: 1, UnauthRateBurst: 20, ExternalURL: "https://hooks.example.com/base/", TLSCertFile: "c", TLSKeyFile: "k",
		target: target{Namespace: "team"}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*HooksServeOptions){
		"-A with -n":       func(o *HooksServeOptions) { o.AllNamespaces, o.target.ExplicitNamespace = true, true },
		"no namespace":     func(o *HooksServeOptions) { o.target.Namespace = "" },
		"negative rate":    func(o *HooksServeOptions) { o.RateLimit = -1 },
		"zero burst":       func(o *HooksServeOptions) { o.RateBurst = 0 },
		"no timeout":       func(o *HooksServeOptions) { o.TriggerTimeout = 0 },
		"negative delay":   func(o *HooksServeOptions) { o.ShutdownDelay = -time.Second },
		"no listen":        func(o *HooksServeOptions) { o.Listen = " " },
		"shutdown timeout": func(o *HooksServeOptions) { o.ShutdownTimeout = 0 },
		"negative api qps": func(o *HooksServeOptions) { o.KubeAPIQPS = -1 },
		"unauth rate":      func(o *HooksServeOptions) { o.UnauthRateLimit = -1 },
		"unauth burst":     func(o *HooksServeOptions) { o.UnauthRateBurst = -1 },
		"cert only":        func(o *HooksServeOptions) { o.TLSKeyFile = "" },
		"key only":         func(o *HooksServeOptions) { o.TLSCertFile = "" },
		"relative url":     func(o *HooksServeOptions) { o.ExternalURL = "hooks.example.com" },
		"url with query":   func(o *HooksServeOptions) { o.ExternalURL = "https://hooks.example.com/?a=b" },
		"url with user":    func(o *HooksServeOptions) { o.ExternalURL = "https://u:p@hooks.example.com" },
		"ftp url":          func(o *HooksServeOptions) { o.ExternalURL = "ftp://hooks.example.com" },
		"url fragment":     func(o *HooksServeOptions) { o.ExternalURL = "https://hooks.example.com/#x" },
	} {
		o := ok
		mutate(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	all := ok
	all.AllNamespaces, all.target.Namespace = true, "default"
	if err := all.Validate(); err != nil {
		t.Fatalf("-A from the kubeconfig's namespace: %v", err)
	}
}

// TestHookServeClientRateLimit: the server's API clients have no
// client-side rate limit unless --kube-api-qps sets one (client-go's limit
// capped the server at 20 triggers/s, BENCHMARKS.md).
func TestHookServeClientRateLimit(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: team}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		qps   float64
		want  float32
		burst int
	}{
		{0, -1, 0}, // -1: client-go makes no rate limiter
		{40, 40, 80},
		{0.2, 0.2, 1},
	} {
		flags := genericclioptions.NewConfigFlags(false)
		flags.KubeConfig = &kubeconfig
		o := &HooksServeOptions{flags: flags, KubeAPIQPS: tc.qps, LogLevel: "info"}
		if err := o.Complete(nil, nil); err != nil {
			t.Fatal(err)
		}
		cfg, err := flags.ToRESTConfig()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.QPS != tc.want || cfg.Burst != tc.burst || !strings.HasSuffix(cfg.UserAgent, " hooks-serve") {
			t.Errorf("--kube-api-qps %v: QPS %v burst %d agent %q; want QPS %v burst %d", tc.qps, cfg.QPS, cfg.Burst, cfg.UserAgent, tc.want, tc.burst)
		}
	}
}
