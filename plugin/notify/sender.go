package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Options is the outbound policy and the limits of a Sender.
type Options struct {
	// AllowInsecure allows plain http:// targets; else they are refused.
	AllowInsecure bool
	// Allow lists ranges to deliver to although internal (loopback,
	// private, link-local, CGNAT, … and Internal): --webhook-allow-cidrs.
	// Cloud metadata addresses stay refused whatever it says.
	Allow []netip.Prefix
	// Deny lists ranges always refused, whatever Allow says:
	// --webhook-deny-cidrs.
	Deny []netip.Prefix
	// Internal lists the cluster's own ranges (pod and service networks,
	// the API server's addresses): refused like private ranges, unless
	// Allow covers them.
	Internal []netip.Prefix
	// AllowPrivate (deprecated: --webhook-allow-private) allows every
	// internal range and Internal, as Allow listing them would; never cloud
	// metadata addresses.
	AllowPrivate bool
	// ConnectTimeout bounds connecting, TLS handshake included (default
	// 5s); Timeout bounds the wait for the answer after that (default 10s).
	// A try takes at most their sum.
	ConnectTimeout time.Duration
	Timeout        time.Duration
	// UserAgent is the User-Agent header (default "kubectl-shipjob").
	UserAgent string
}

// Sender posts notifications. It is safe for concurrent use; make one and
// keep it (it holds a connection pool).
type Sender struct {
	opt              Options
	policy           addrPolicy
	connect, timeout time.Duration
	client           *http.Client
}

// maxAnswer is how much of an answer's body is read before the connection
// is dropped.
const maxAnswer = 64 << 10

// NewSender returns a Sender with options o.
func NewSender(o Options) *Sender {
	s := &Sender{opt: o, policy: newAddrPolicy(o), connect: o.ConnectTimeout, timeout: o.Timeout}
	if s.timeout <= 0 {
		s.timeout = 10 * time.Second
	}
	if s.connect <= 0 {
		s.connect = 5 * time.Second
	}
	if s.opt.UserAgent == "" {
		s.opt.UserAgent = "kubectl-shipjob"
	}
	// Control sees every address dialed, after resolution. The resolver
	// has its own dialer, so DNS queries (to the cluster's DNS service, a
	// private address) are not refused.
	dialer := &net.Dialer{Timeout: s.connect, Control: s.control}
	s.client = &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil, // a proxy would be the address checked, not the target
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   s.connect,
			ResponseHeaderTimeout: s.timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s
}

// Attempt is the outcome of one try.
type Attempt struct {
	// Status is the receiver's HTTP status, 0 when there was no answer.
	Status int
	// Err is nil when the receiver answered 2xx; else one line saying why
	// the try failed. It never contains the target URL.
	Err error
	// Retryable: a later try may succeed (no connection, timeout, 429, 5xx).
	Retryable bool
	// Refused: the outbound policy refused the target; never retry.
	Refused bool
	// Duration is how long the try took.
	Duration time.Duration
}

// CheckURL reports whether raw is a URL notifications can be sent to: http
// or https, with a host and without user information (credentials would sit
// in definitions anyone who may read them sees). Its errors do not repeat
// raw, which may hold a secret.
func CheckURL(raw string) error {
	_, err := parseTarget(raw)
	return err
}

func parseTarget(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("invalid webhook URL: %v", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("invalid webhook URL: scheme must be http or https, not %q", u.Scheme)
	case u.Hostname() == "":
		return nil, errors.New("invalid webhook URL: no host")
	case u.User != nil:
		return nil, errors.New("invalid webhook URL: user information (user:password@) is not allowed; put credentials in a header or the path")
	}
	return u, nil
}

// Send posts body to target once, with headers (which may override the
// Content-Type and User-Agent it sets). Redirects are not followed; at most 64 KiB of the answer is
// read.
func (s *Sender) Send(ctx context.Context, target string, body []byte, contentType string, headers map[string]string) Attempt {
	start := time.Now()
	a := s.send(ctx, target, body, contentType, headers)
	a.Duration = time.Since(start)
	return a
}

func (s *Sender) send(ctx context.Context, target string, body []byte, contentType string, headers map[string]string) Attempt {
	u, err := parseTarget(target)
	if err != nil {
		return Attempt{Err: err}
	}
	if u.Scheme == "http" && !s.opt.AllowInsecure {
		return Attempt{Err: &refusal{"refused: plain http" + hintInsecure}, Refused: true}
	}
	for k, v := range headers {
		if !validHeader(k, v) {
			return Attempt{Err: fmt.Errorf("invalid header %q", k)}
		}
	}
	tryCtx, cancel := context.WithTimeout(ctx, s.connect+s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(tryCtx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return Attempt{Err: errors.New("invalid webhook request")}
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", s.opt.UserAgent)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return s.failure(ctx, tryCtx, err)
	}
	// Only the status code and a fixed text are kept of an answer: its
	// body or Location may echo the URL, which often holds a secret.
	drain(resp.Body)
	a := Attempt{Status: resp.StatusCode}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
	case code >= 300 && code < 400:
		a.Err = fmt.Errorf("receiver answered %s (a redirect, not followed)", statusText(code))
	default:
		a.Err = errors.New("receiver answered " + statusText(code))
		a.Retryable = code == http.StatusTooManyRequests || code >= 500
	}
	return a
}

// failure classifies an error of client.Do into a fixed reason: nothing
// of what the receiver sent (a malformed answer may echo the URL) and no
// URL goes into it (review N8).
func (s *Sender) failure(ctx, tryCtx context.Context, err error) Attempt {
	var r *refusal
	switch {
	case errors.As(err, &r):
		return Attempt{Err: r, Refused: true}
	case ctx.Err() != nil:
		return Attempt{Err: fmt.Errorf("stopped: %w", context.Cause(ctx))}
	case errors.Is(tryCtx.Err(), context.DeadlineExceeded):
		return Attempt{Err: fmt.Errorf("no answer within %s", s.timeout), Retryable: true}
	}
	var cert *tls.CertificateVerificationError
	if errors.As(err, &cert) {
		// Not a passing state: retrying would fail the same way.
		return Attempt{Err: errors.New("TLS: " + certReason(cert.Err))}
	}
	return Attempt{Err: errors.New(s.netReason(err)), Retryable: true}
}

// netReason is a fixed reason for a failed connection or exchange.
func (s *Sender) netReason(err error) string {
	var dns *net.DNSError
	var op *net.OpError
	var ne net.Error
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		return "DNS: no such host"
	case errors.As(err, &dns):
		return "DNS: lookup failed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before an answer"
	case errors.As(err, &op) && op.Op == "dial" && op.Timeout():
		return fmt.Sprintf("no connection within %s", s.connect)
	case errors.As(err, &ne) && ne.Timeout() && strings.Contains(err.Error(), "TLS handshake"):
		return fmt.Sprintf("no TLS handshake within %s", s.connect)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("no answer within %s", s.timeout)
	case errors.As(err, &op) && op.Op == "dial":
		return "connection failed"
	case strings.Contains(err.Error(), "tls:"):
		return "TLS handshake failed"
	}
	return "no valid HTTP answer"
}

// certReason is a fixed reason for a certificate the receiver showed.
func certReason(err error) string {
	var host x509.HostnameError
	var auth x509.UnknownAuthorityError
	var inv x509.CertificateInvalidError
	switch {
	case errors.As(err, &host):
		return "the certificate is not valid for the host"
	case errors.As(err, &auth):
		return "the certificate is signed by an unknown authority"
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		return "the certificate is expired or not yet valid"
	}
	return "the certificate is not valid"
}

// drain reads at most maxAnswer bytes of body (so the connection can be
// reused) and closes it, which drops the connection when more is left.
func drain(body io.ReadCloser) {
	defer body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxAnswer))
}

// runeCut is the largest n' <= n that does not cut a character of s in two.
func runeCut(s string, n int) int {
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprint(code)
}

// validHeader reports whether k is a header name (an HTTP token) and v a
// value without control characters; net/http would refuse others.
func validHeader(k, v string) bool {
	if k == "" {
		return false
	}
	for _, c := range []byte(k) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	for _, c := range []byte(v) {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
