package hookserver

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// MaxClients bounds the addresses the unauthenticated limit tracks; the
// least recently seen is forgotten first (about 200 bytes each).
const MaxClients = 10000

// The unauthenticated limit is a limiter keyed by client address for
// requests that do not authenticate (unknown or missing token, unknown
// path, wrong method): over the limit they are answered 429 instead of
// 404/405. Requests with a valid token never take from it, so a flood from
// a shared address (a NAT, or the Ingress when its X-Forwarded-For is not
// trusted) cannot lock CI out; it bounds the work and the log lines
// strangers cause.

// clientOf is the address a request is limited by: the connection's peer,
// or, when that peer is a trusted proxy, the nearest address in
// X-Forwarded-For that is not one (the header is appended to by each
// proxy, so only entries added by trusted ones are believed). IPv6
// addresses count by /64, the block one host usually has.
func clientOf(r *http.Request, trusted []netip.Prefix) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return "remote:" + safeText(r.RemoteAddr, 64)
	}
	ip := ap.Addr().Unmap()
	if isTrusted(ip, trusted) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // not written by a proxy we trust: keep the last good one
			}
			ip = hop.Unmap()
			if !isTrusted(ip, trusted) {
				break
			}
		}
	}
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies parses CIDRs ("10.0.0.0/8") or single addresses.
func ParseTrustedProxies(values []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return nil, err
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// safeText is at most n bytes of attacker-chosen s for a log line:
// printable ASCII as is, every other byte as %XX, and the original length
// when cut.
func safeText(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if b.Len() >= n {
			b.WriteString("…(" + strconv.Itoa(len(s)) + " bytes)")
			break
		}
		if c > ' ' && c < 0x7f && c != '%' {
			b.WriteByte(c)
			continue
		}
		const hex = "0123456789ABCDEF"
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
