package commands

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"slices"
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

// TestHookServeWebhookCIDRFlags: the CIDR flags are read strictly; a bad
// one is one line naming the flag.
func TestHookServeWebhookCIDRFlags(t *testing.T) {
	got, err := parseCIDRs([]string{"127.0.0.0/8", " 10.1.2.3 ", "fd00::/8", "::ffff:10.0.0.0/104", "192.168.1.7/24"})
	want := []string{"127.0.0.0/8", "10.1.2.3/32", "fd00::/8", "::ffff:10.0.0.0/104", "192.168.1.0/24"}
	if err != nil || len(got) != len(want) {
		t.Fatalf("parseCIDRs = %v, %v", got, err)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("%d: %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.0/8/8", "fe80::1%eth0"} {
		if _, err := parseCIDRs([]string{bad}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: %v, want an error naming it", bad, err)
		}
	}
}
