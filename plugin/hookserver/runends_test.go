package hookserver

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
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
