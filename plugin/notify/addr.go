package notify

import (
	"net/netip"
	"syscall"
)

// The outbound address policy. It is applied in the dialer's Control
// hook, to the address of every connection actually attempted (after DNS
// resolution, so a name that resolves or rebinds to an internal address is
// refused too), never to the URL's host alone.

// refusal is an error of the outbound policy: a delivery it stops is never
// retried.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

const (
	hintPrivate  = " (start the server with --webhook-allow-private to allow it)"
	hintInsecure = " (start the server with --webhook-allow-insecure to allow it)"
)

var (
	metadataAddr = netip.MustParseAddr("169.254.169.254")
	thisNetwork  = netip.MustParsePrefix("0.0.0.0/8")
	sharedCGNAT  = netip.MustParsePrefix("100.64.0.0/10")
	reserved4    = netip.MustParsePrefix("240.0.0.0/4") // includes 255.255.255.255
	nat64        = netip.MustParsePrefix("64:ff9b::/96")
)

// blockedBy says why a is not an address to deliver to ("a loopback
// address"), or "" when it is. IPv4-mapped IPv6 addresses are judged as
// the IPv4 address they map, NAT64 ones by the IPv4 address they embed.
func blockedBy(a netip.Addr, deny []netip.Prefix) string {
	a = a.Unmap().WithZone("")
	if nat64.Contains(a) {
		b := a.As16()
		v4 := netip.AddrFrom4([4]byte(b[12:]))
		if why := blockedBy(v4, deny); why != "" {
			return "a NAT64 address of " + v4.String() + ", " + why
		}
	}
	switch {
	case a.IsLoopback():
		return "a loopback address"
	case a.IsUnspecified() || thisNetwork.Contains(a):
		return "an unspecified address"
	case a == metadataAddr:
		return "a link-local address (the cloud metadata service)"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a.IsMulticast():
		return "a multicast address"
	case a.IsPrivate():
		return "a private address"
	case sharedCGNAT.Contains(a):
		return "a shared (CGNAT) address"
	case reserved4.Contains(a):
		return "a reserved address"
	case !a.IsValid():
		return "not an IP address"
	}
	for _, p := range deny {
		if p.Contains(a) {
			return "in the denied range " + p.String()
		}
	}
	return ""
}

// normalizeDeny turns IPv4-mapped prefixes into IPv4 ones, so that they
// match the unmapped addresses blockedBy compares.
func normalizeDeny(deny []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(deny))
	for _, p := range deny {
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out
}

// control is the dialer's Control hook: address is the "ip:port" about to
// be connected. An address it cannot read is refused.
func (s *Sender) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &refusal{"refused: cannot check the address " + address}
	}
	if why := blockedBy(ap.Addr(), s.deny); why != "" {
		return &refusal{"refused: " + ap.Addr().Unmap().String() + " is " + why + hintPrivate}
	}
	return nil
}
