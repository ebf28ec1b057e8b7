package notify

import (
	"errors"
	"net/netip"
	"testing"
)

func TestNotifyBlockedBy(t *testing.T) {
	deny := normalizeDeny([]netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("::ffff:198.51.100.0/120")})
	for addr, want := range map[string]string{
		"127.0.0.1":              "a loopback address",
		"127.9.9.9":              "a loopback address",
		"::1":                    "a loopback address",
		"::ffff:127.0.0.1":       "a loopback address",
		"::ffff:10.1.2.3":        "a private address",
		"10.0.0.1":               "a private address",
		"172.16.0.1":             "a private address",
		"172.31.255.255":         "a private address",
		"192.168.1.1":            "a private address",
		"fd00::2":                "a private address",
		"169.254.169.254":        "a link-local address (the cloud metadata service)",
		"::ffff:169.254.169.254": "a link-local address (the cloud metadata service)",
		"169.254.1.1":            "a link-local address",
		"fe80::1":                "a link-local address",
		"fe80::1%eth0":           "a link-local address",
		"100.64.0.1":             "a shared (CGNAT) address",
		"100.127.255.255":        "a shared (CGNAT) address",
		"0.0.0.0":                "an unspecified address",
		"0.1.2.3":                "an unspecified address",
		"::":                     "an unspecified address",
		"224.0.0.1":              "a multicast address",
		"ff02::1":                "a multicast address",
		"255.255.255.255":        "a reserved address",
		"64:ff9b::a00:1":         "a NAT64 address of 10.0.0.1, a private address",
		"203.0.113.7":            "in the denied range 203.0.113.0/24",
		"198.51.100.9":           "in the denied range 198.51.100.0/24",
		"::ffff:203.0.113.7":     "in the denied range 203.0.113.0/24",
		// Public addresses pass.
		"8.8.8.8":              "",
		"172.32.0.1":           "",
		"100.128.0.1":          "",
		"2606:4700:4700::1111": "",
		"64:ff9b::808:808":     "",
	} {
		if got := blockedBy(netip.MustParseAddr(addr), deny); got != want {
			t.Errorf("%s: %q, want %q", addr, got, want)
		}
	}
}

// The Control hook is what sees the address dialed: check its parsing too.
func TestNotifyControl(t *testing.T) {
	s := NewSender(Options{})
	for address, want := range map[string]string{
		"127.0.0.1:80":          "refused: 127.0.0.1 is a loopback address (start the server with --webhook-allow-private to allow it)",
		"[::ffff:127.0.0.1]:80": "refused: 127.0.0.1 is a loopback address (start the server with --webhook-allow-private to allow it)",
		"[fe80::1%eth0]:443":    "refused: fe80::1%eth0 is a link-local address (start the server with --webhook-allow-private to allow it)",
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
