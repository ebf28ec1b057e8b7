package notify

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func prefixes(ps ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ps))
	for i, p := range ps {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

// TestNotifyAddressPolicy: every range of the outbound policy, IPv4, IPv6
// and IPv4-mapped, by default, with allowed and denied CIDRs and with the
// cluster's own networks (review N8). want is a text the reason contains
// ("" passes).
func TestNotifyAddressPolicy(t *testing.T) {
	def := newAddrPolicy(Options{})
	cluster := newAddrPolicy(Options{Internal: prefixes("10.244.0.0/16", "34.118.224.0/20", "2600:1f14:abc::/56", "::ffff:35.1.2.0/120")})
	allowAll := newAddrPolicy(Options{Allow: prefixes("0.0.0.0/0", "::/0"), Deny: prefixes("127.0.0.0/8")})
	allowSome := newAddrPolicy(Options{Allow: prefixes("127.0.0.0/8", "10.1.0.0/16", "fd00::/8"), Deny: prefixes("10.1.2.0/24", "::ffff:203.0.113.0/120")})
	legacy := newAddrPolicy(Options{AllowPrivate: true, Internal: prefixes("34.118.224.0/20")})
	never := "(never allowed)"
	allowHint := "(allow it with --webhook-allow-cidrs)"
	cases := []struct {
		p            addrPolicy
		name, addr   string
		want, absent string
	}{
		// Cloud metadata: never, whatever is allowed.
		{def, "aws/gcp/azure metadata", "169.254.169.254", "cloud metadata address " + never, ""},
		{def, "metadata mapped", "::ffff:169.254.169.254", "169.254.169.254 is a cloud metadata address", ""},
		{def, "aws ipv6 metadata", "fd00:ec2::254", "cloud metadata", ""},
		{def, "ecs task metadata", "169.254.170.2", "cloud metadata", ""},
		{def, "eks pod identity", "169.254.170.23", "cloud metadata", ""},
		{def, "eks pod identity v6", "fd00:ec2::23", "cloud metadata", ""},
		{def, "alibaba metadata", "100.100.100.200", "cloud metadata", ""},
		{def, "azure wireserver", "168.63.129.16", "cloud metadata", ""},
		{allowAll, "metadata with 0.0.0.0/0 allowed", "169.254.169.254", "cloud metadata", ""},
		{allowAll, "v6 metadata with ::/0 allowed", "fd00:ec2::254", "cloud metadata", ""},
		{legacy, "metadata with --webhook-allow-private", "169.254.169.254", "cloud metadata", ""},
		{allowAll, "metadata through NAT64", "64:ff9b::a9fe:a9fe", "NAT64 address: 169.254.169.254 is a cloud metadata", ""},
		// Never: unusable.
		{allowAll, "unspecified", "0.0.0.0", "unspecified address " + never, ""},
		{allowAll, "this network", "0.1.2.3", "unspecified", ""},
		{allowAll, "unspecified v6", "::", "unspecified", ""},
		{allowAll, "multicast", "224.0.0.1", "multicast", ""},
		{allowAll, "multicast v6", "ff02::1", "multicast", ""},
		{allowAll, "broadcast", "255.255.255.255", "reserved", ""},
		{allowAll, "IPv4-compatible", "::a00:1", "reserved", ""},
		// Internal by default, each range.
		{def, "loopback", "127.0.0.1", "loopback address " + allowHint, ""},
		{def, "loopback /8", "127.9.9.9", "loopback", ""},
		{def, "loopback v6", "::1", "loopback", ""},
		{def, "loopback mapped", "::ffff:127.0.0.1", "127.0.0.1 is a loopback", ""},
		{def, "10/8", "10.0.0.1", "a private address", ""},
		{def, "10/8 mapped", "::ffff:10.1.2.3", "10.1.2.3 is a private address", ""},
		{def, "172.16/12", "172.31.255.255", "private", ""},
		{def, "192.168/16", "192.168.1.1", "private", ""},
		{def, "ULA", "fd12::2", "private address (ULA)", ""},
		{def, "link-local", "169.254.1.1", "link-local", ""},
		{def, "link-local v6", "fe80::1", "link-local", ""},
		{def, "link-local v6 zone", "fe80::1%eth0", "fe80::1 is a link-local", "%eth0"},
		{def, "CGNAT", "100.64.0.1", "CGNAT", ""},
		{def, "CGNAT end", "100.127.255.255", "CGNAT", ""},
		{def, "benchmarking", "198.19.255.1", "198.18.0.0/15", ""},
		{def, "local-use NAT64", "64:ff9b:1::a", "64:ff9b:1::/48", ""},
		{def, "6to4", "2002:a00:1::1", "2002::/16", ""},
		{def, "NAT64 of private", "64:ff9b::a00:1", "64:ff9b::a00:1 is a NAT64 address: 10.0.0.1 is a private address", ""},
		// The cluster's networks (given by flags): public-looking ranges too.
		{cluster, "pod network", "10.244.1.2", "private", ""},
		{cluster, "GKE PUPI service range", "34.118.230.1", "in the cluster's range 34.118.224.0/20 " + allowHint, ""},
		{cluster, "EKS IPv6 pods", "2600:1f14:abc:0:1::5", "in the cluster's range 2600:1f14:abc::/56", ""},
		{cluster, "mapped cluster prefix", "35.1.2.3", "in the cluster's range 35.1.2.0/24", ""},
		{cluster, "mapped address in cluster range", "::ffff:34.118.224.9", "cluster's range", ""},
		{legacy, "cluster range with --webhook-allow-private", "34.118.224.9", "", ""},
		{legacy, "loopback with --webhook-allow-private", "127.0.0.1", "", ""},
		// Allowed by CIDR; denied CIDRs win.
		{allowSome, "allowed loopback", "127.0.0.1", "", ""},
		{allowSome, "allowed private", "10.1.9.9", "", ""},
		{allowSome, "allowed ULA", "fd00::1", "", ""},
		{allowSome, "private not allowed", "10.2.0.1", "private", ""},
		{allowSome, "denied inside allowed", "10.1.2.3", "in the denied range 10.1.2.0/24", ""},
		{allowSome, "denied public (mapped prefix)", "203.0.113.7", "in the denied range 203.0.113.0/24", ""},
		{allowSome, "denied public, mapped address", "::ffff:203.0.113.7", "denied range 203.0.113.0/24", ""},
		{allowSome, "NAT64 of allowed", "64:ff9b::7f00:1", "", ""},
		{allowAll, "deny beats allow", "127.0.0.1", "denied range 127.0.0.0/8", ""},
		// Public addresses pass.
		{def, "public", "8.8.8.8", "", ""},
		{def, "after 172.16/12", "172.32.0.1", "", ""},
		{def, "after CGNAT", "100.128.0.1", "", ""},
		{def, "after 198.18/15", "198.20.0.1", "", ""},
		{def, "public v6", "2606:4700:4700::1111", "", ""},
		{def, "NAT64 of public", "64:ff9b::808:808", "", ""},
	}
	for _, tc := range cases {
		got := tc.p.check(netip.MustParseAddr(tc.addr))
		switch {
		case tc.want == "" && got != "":
			t.Errorf("%s (%s): refused: %q", tc.name, tc.addr, got)
		case tc.want != "" && !strings.Contains(got, tc.want):
			t.Errorf("%s (%s): %q, want it to contain %q", tc.name, tc.addr, got, tc.want)
		case tc.absent != "" && strings.Contains(got, tc.absent):
			t.Errorf("%s (%s): %q contains %q", tc.name, tc.addr, got, tc.absent)
		}
	}
}

// The Control hook is what sees the address dialed: check its parsing too.
func TestNotifyControl(t *testing.T) {
	s := NewSender(Options{})
	for address, want := range map[string]string{
		"127.0.0.1:80":          "refused: 127.0.0.1 is a loopback address (allow it with --webhook-allow-cidrs)",
		"[::ffff:127.0.0.1]:80": "refused: 127.0.0.1 is a loopback address (allow it with --webhook-allow-cidrs)",
		"[fe80::1%eth0]:443":    "refused: fe80::1 is a link-local address (allow it with --webhook-allow-cidrs)",
		"169.254.169.254:80":    "refused: 169.254.169.254 is a cloud metadata address (never allowed)",
		"garbage":               "refused: cannot check the address garbage",
		"8.8.8.8:443":           "",
		"[2606:4700::1]:443":    "",
	} {
		err := s.control("tcp", address, nil)
		var r *refusal
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", address, err)
		case want != "" && (!errors.As(err, &r) || err.Error() != want):
			t.Errorf("%s: %v, want %s", address, err, want)
		}
	}
}
