package hookserver

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"slices"
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
