package notify

import (
	"net/netip"
	"syscall"
)

// The outbound address policy. It is applied in the dialer's Control
// hook, to the address of every connection actually attempted (after DNS
// resolution, so a name that resolves or rebinds to an internal address is
// refused too), never to the URL's host alone. In order:
//
//  1. never: cloud metadata services, unspecified, multicast, reserved;
//  2. refused: Options.Deny (--webhook-deny-cidrs), whatever Allow says;
//  3. allowed: Options.Allow (--webhook-allow-cidrs);
//  4. refused: internal ranges (loopback, RFC 1918, ULA, link-local,
//     CGNAT, 198.18.0.0/15, 64:ff9b:1::/48, 2002::/16) and Options.Internal
//     (the cluster's pod and service networks, the API server's addresses);
//  5. allowed: anything else.
//
// IPv4-mapped IPv6 addresses are judged as the IPv4 address they map, NAT64
// (64:ff9b::/96) ones by the IPv4 address they embed as well.

// refusal is an error of the outbound policy: a delivery it stops is never
// retried.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

const (
	hintAllow    = " (allow it with --webhook-allow-cidrs)"
	hintNever    = " (never allowed)"
	hintInsecure = " (start the server with --webhook-allow-insecure to allow it)"
)

// metadata are the cloud metadata and platform services: AWS, GCP, Azure,
// OpenStack, Oracle, DigitalOcean (169.254.169.254, AWS IPv6 fd00:ec2::254),
// AWS ECS task metadata (169.254.170.2) and EKS Pod Identity (169.254.170.23,
// fd00:ec2::23), Alibaba Cloud (100.100.100.200), Azure's WireServer
// (168.63.129.16). Never allowed.
var metadata = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("169.254.170.2"), netip.MustParseAddr("169.254.170.23"), netip.MustParseAddr("fd00:ec2::23"),
	netip.MustParseAddr("100.100.100.200"), netip.MustParseAddr("168.63.129.16"),
}

var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	reserved4   = netip.MustParsePrefix("240.0.0.0/4") // includes 255.255.255.255
	ipv4Compat  = netip.MustParsePrefix("::/96")       // deprecated IPv4-compatible IPv6
	nat64       = netip.MustParsePrefix("64:ff9b::/96")
)

// internal are the ranges refused unless Allow covers them, with why.
var internal = []struct {
	p   netip.Prefix
	why string
}{
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("fc00::/7"), "a private address (ULA)"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (CGNAT) address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address (198.18.0.0/15)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address (64:ff9b:1::/48)"},
	{netip.MustParsePrefix("2002::/16"), "a 6to4 address (2002::/16)"},
}

// InternalRanges are the built-in ranges refused unless allowed (step 4).
func InternalRanges() []netip.Prefix {
	out := make([]netip.Prefix, len(internal))
	for i, r := range internal {
		out[i] = r.p
	}
	return out
}

// addrPolicy is the policy of one Sender (normalized prefixes).
type addrPolicy struct {
	allow, deny, internal []netip.Prefix
}

func newAddrPolicy(o Options) addrPolicy {
	p := addrPolicy{allow: normalize(o.Allow), deny: normalize(o.Deny), internal: normalize(o.Internal)}
	if o.AllowPrivate { // deprecated: every built-in internal range and Internal
		p.allow = append(append(p.allow, InternalRanges()...), p.internal...)
	}
	return p
}

// check says why a is refused ("127.0.0.1 is a loopback address (allow it
// with …)"), or "" when it may be dialed.
func (p addrPolicy) check(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if !a.IsValid() {
		return "not an IP address"
	}
	if nat64.Contains(a) {
		b := a.As16()
		v4 := netip.AddrFrom4([4]byte(b[12:]))
		if why := p.check(v4); why != "" {
			return a.String() + " is a NAT64 address: " + why
		}
	}
	for _, m := range metadata {
		if a == m {
			return a.String() + " is a cloud metadata address" + hintNever
		}
	}
	switch {
	case a.IsUnspecified() || thisNetwork.Contains(a):
		return a.String() + " is an unspecified address" + hintNever
	case a.IsMulticast():
		return a.String() + " is a multicast address" + hintNever
	case reserved4.Contains(a) || (ipv4Compat.Contains(a) && !a.IsLoopback()):
		return a.String() + " is a reserved address" + hintNever
	}
	for _, d := range p.deny {
		if d.Contains(a) {
			return a.String() + " is in the denied range " + d.String()
		}
	}
	for _, al := range p.allow {
		if al.Contains(a) {
			return ""
		}
	}
	for _, r := range internal {
		if r.p.Contains(a) {
			return a.String() + " is " + r.why + hintAllow
		}
	}
	for _, r := range p.internal {
		if r.Contains(a) {
			return a.String() + " is in the cluster's range " + r.String() + hintAllow
		}
	}
	return ""
}

// normalize turns IPv4-mapped prefixes into IPv4 ones (so that they match
// the unmapped addresses check compares) and masks them.
func normalize(ps []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
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
	if why := s.policy.check(ap.Addr()); why != "" {
		return &refusal{"refused: " + why}
	}
	return nil
}
