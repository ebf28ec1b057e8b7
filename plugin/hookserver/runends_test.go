package hookserver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"github.com/shipjob/kubectl-shipjob/plugin/runend"
	"github.com/shipjob/kubectl-shipjob/plugin/schedule"
)

// TestHookServeAPIAddressesByName: the API server's addresses are denied to
// webhooks also when the kubeconfig names it (review N8).
func TestHookServeAPIAddressesByName(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	got := apiAddresses(context.Background(), net.DefaultResolver, log, "https://localhost:6443", "10.96.0.1", "https://[fd00::1]:443")
	for _, want := range []string{"127.0.0.1/32", "10.96.0.1/32", "fd00::1/128"} {
		if !slices.Contains(got, netip.MustParsePrefix(want)) {
			t.Errorf("apiAddresses = %v, want %s among them", got, want)
		}
	}
	if got := apiAddresses(context.Background(), net.DefaultResolver, log, "https://no-such-host.invalid"); len(got) != 0 {
		t.Errorf("an unresolvable name gave %v", got)
	}
}

// TestRunEndsDefaults: the replica's identity and the Lease's namespace
// when no flag gives them (the order `hook serve --help` documents).
func TestRunEndsDefaults(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct{ given, served, client, podNS, want string }{
		{"given", "a,b", "kc", "pod", "given"},
		{"", "a,b", "kc", "pod", "pod"},
		{"", "a,b", "kc", "", "a"},
		{"", "", "kc", "", "kc"},
	} {
		env["POD_NAMESPACE"] = tc.podNS
		if got := leaseNamespace(tc.given, tc.served, tc.client, getenv); got != tc.want {
			t.Errorf("leaseNamespace(%q, %q, %q) with POD_NAMESPACE=%q = %q, want %q", tc.given, tc.served, tc.client, tc.podNS, got, tc.want)
		}
	}
	if got := identity("me", getenv); got != "me" {
		t.Errorf("identity = %q, want the given one", got)
	}
	if got := identity("", getenv); !strings.HasSuffix(got, "_"+strconv.Itoa(os.Getpid())) {
		t.Errorf("identity without POD_NAME = %q, want HOST_PID", got)
	}
	env["POD_NAME"] = "hooks-0"
	if got := identity("", getenv); got != "hooks-0" {
		t.Errorf("identity = %q, want $POD_NAME", got)
	}
}

// TestSchedulesWithoutNotifications: with run ends off, the leader's work
// is the schedules alone and renews their heartbeat; both off, no work.
func TestSchedulesWithoutNotifications(t *testing.T) {
	def := jobdef.New("apps", "report")
	def.Spec.Image = "busybox"
	def.Spec.Schedules = []jobdef.Schedule{{Name: "nightly", Cron: "0 3 * * *"}}
	sec, err := jobdef.ToSecret(def)
	if err != nil {
		t.Fatal(err)
	}
	cs := fake.NewClientset(sec)
	cfg := Config{API: ServerConfig{Client: cs, Namespace: "apps", Log: slog.New(slog.DiscardHandler)},
		Getenv:  func(string) string { return "" },
		RunEnds: &RunEndsConfig{NoRunEnds: true, Lease: runend.LeaderConfig{Identity: "hooks-0"}}}
	trigger := func(context.Context, run.Request) (*run.Result, error) { return nil, errors.New("no run expected") }
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- runEnds(ctx, cfg, runend.NewMetrics(), schedule.Config{Trigger: trigger})(ctx) }()
	var st schedule.LeaderState
	for end := time.Now().Add(10 * time.Second); !st.Leading && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		st, _ = schedule.Leading(t.Context(), cs, "apps", time.Now())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !st.Leading || st.Holder != "hooks-0" {
		t.Errorf("heartbeat with --notifications=false: %+v", st)
	}
	for _, a := range cs.Actions() {
		if a.GetResource().Resource == "jobs" && a.GetVerb() == "watch" {
			t.Errorf("run ends watched with --notifications=false: %v", a)
		}
	}
	cfg.RunEnds.NoSchedules = true
	if err := runEnds(t.Context(), cfg, runend.NewMetrics(), schedule.Config{Trigger: trigger})(t.Context()); err != nil {
		t.Errorf("no work: %v", err)
	}
	if every, ttl := heartbeat(&RunEndsConfig{LeaderElection: true, Lease: runend.LeaderConfig{LeaseDuration: 3 * time.Second}}); every != 3*time.Second || ttl != 9*time.Second {
		t.Errorf("heartbeat for a 3s Lease: every %v, ttl %v", every, ttl)
	}
	if every, ttl := heartbeat(&RunEndsConfig{}); every != 15*time.Second || ttl != 45*time.Second {
		t.Errorf("default heartbeat: every %v, ttl %v", every, ttl)
	}
}
