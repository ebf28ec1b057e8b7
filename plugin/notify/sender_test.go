package notify

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// receiver is an httptest server answering with h, counting its requests.
type receiver struct {
	*httptest.Server
	hits atomic.Int32
}

func newReceiver(t *testing.T, h http.HandlerFunc) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewServer(r.count(h))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) count(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		if h != nil {
			h(w, req)
		}
	})
}

// port is the receiver's port, for URLs naming it by another address.
func (r *receiver) port() string { return strconv.Itoa(r.Listener.Addr().(*net.TCPAddr).Port) }

func ok(w http.ResponseWriter, _ *http.Request) {}

// trusting makes s trust the certificate of TLS server srv.
func trusting(s *Sender, srv *httptest.Server) *Sender {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	s.client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool}
	return s
}

func TestNotifySendRefuses(t *testing.T) {
	rcv := newReceiver(t, ok)
	port := rcv.port()
	// A receiver on [::1] as well, where the host has IPv6.
	port6 := "9"
	var rcv6 *receiver
	if l, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		rcv6 = &receiver{}
		rcv6.Server = httptest.NewUnstartedServer(rcv6.count(ok))
		rcv6.Listener.Close()
		rcv6.Listener = l
		rcv6.Start()
		t.Cleanup(rcv6.Close)
		port6 = rcv6.port()
	}
	const private, insecure = "(allow it with --webhook-allow-cidrs)",
		"(start the server with --webhook-allow-insecure to allow it)"
	open := Options{AllowInsecure: true, Timeout: 2 * time.Second}
	for name, c := range map[string]struct {
		url, want string
		opt       Options
	}{
		"loopback":      {"http://127.0.0.1:" + port + "/", "refused: 127.0.0.1 is a loopback address " + private, open},
		"loopback v6":   {"http://[::1]:" + port6 + "/", "refused: ::1 is a loopback address " + private, open},
		"mapped v6":     {"http://[::ffff:127.0.0.1]:" + port + "/", "refused: 127.0.0.1 is a loopback address " + private, open},
		"unspecified":   {"http://0.0.0.0:" + port + "/", "refused: 0.0.0.0 is an unspecified address (never allowed)", open},
		"localhost":     {"http://localhost:" + port + "/", "is a loopback address " + private, open},
		"10/8":          {"http://10.0.0.1/", "refused: 10.0.0.1 is a private address " + private, open},
		"192.168/16":    {"https://192.168.1.1/", "refused: 192.168.1.1 is a private address " + private, open},
		"172.16/12":     {"http://172.16.0.1:8080/", "refused: 172.16.0.1 is a private address " + private, open},
		"metadata":      {"http://169.254.169.254/latest/meta-data/", "refused: 169.254.169.254 is a cloud metadata address (never allowed)", Options{AllowInsecure: true, AllowPrivate: true, Allow: prefixes("0.0.0.0/0")}},
		"link-local v6": {"http://[fe80::1]/", "refused: fe80::1 is a link-local address " + private, open},
		"CGNAT":         {"http://100.64.0.1/", "refused: 100.64.0.1 is a shared (CGNAT) address " + private, open},
		"deny": {"http://203.0.113.7/", "refused: 203.0.113.7 is in the denied range 203.0.113.0/24",
			Options{AllowInsecure: true, Timeout: 2 * time.Second, Deny: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}},
		"plain http": {"http://127.0.0.1:" + port + "/", "refused: plain http " + insecure, Options{AllowPrivate: true}},
		"deny beats allow": {"http://127.0.0.1:" + port + "/", "refused: 127.0.0.1 is in the denied range 127.0.0.1/32",
			Options{AllowInsecure: true, Allow: prefixes("127.0.0.0/8"), Deny: prefixes("127.0.0.1/32")}},
	} {
		t.Run(name, func(t *testing.T) {
			a := NewSender(c.opt).Send(t.Context(), c.url, []byte("{}"), "application/json", nil)
			if !a.Refused || a.Retryable || a.Status != 0 || a.Err == nil || !strings.Contains(a.Err.Error(), c.want) {
				t.Errorf("got %+v, want refused: %s", a, c.want)
			}
		})
	}
	if n := rcv.hits.Load(); n != 0 {
		t.Errorf("the receiver was called %d times", n)
	}
	if rcv6 != nil && rcv6.hits.Load() != 0 {
		t.Errorf("the [::1] receiver was called")
	}

	// The same targets with loopback allowed: the check lets them through.
	s := NewSender(Options{Allow: prefixes("127.0.0.0/8"), AllowInsecure: true})
	targets := []string{"http://127.0.0.1:" + port + "/", "http://localhost:" + port + "/", "http://[::ffff:127.0.0.1]:" + port + "/"}
	for _, target := range targets {
		if a := s.Send(t.Context(), target, []byte("{}"), "application/json", nil); a.Err != nil || a.Status != 200 {
			t.Errorf("%s with AllowPrivate: %+v", target, a)
		}
	}
	if n := rcv.hits.Load(); n != int32(len(targets)) {
		t.Errorf("with AllowPrivate the receiver got %d requests, want %d", n, len(targets))
	}
}

func TestNotifySendNoProxy(t *testing.T) {
	if tr := NewSender(Options{}).client.Transport.(*http.Transport); tr.Proxy != nil {
		t.Fatal("the transport uses a proxy: the address check would see the proxy, not the target")
	}
}

func TestNotifySendRequest(t *testing.T) {
	body := []byte(`{"job":"j"}`)
	var got *http.Request
	var gotBody []byte
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		got, gotBody = r, must(io.ReadAll(r.Body))
		w.WriteHeader(http.StatusNoContent)
	})
	s := NewSender(Options{AllowPrivate: true, AllowInsecure: true, UserAgent: "kubectl-shipjob/1.2"})
	a := s.Send(t.Context(), rcv.URL+"/hook", body, "application/json", map[string]string{
		HeaderDelivery: "run-1.ops", HeaderSignature: Sign([]byte("s"), rcv.URL+"/hook", time.Unix(1765000000, 0), "run-1.ops", body),
		HeaderTimestamp: "1765000000",
	})
	if a.Err != nil || a.Status != 204 || a.Duration <= 0 {
		t.Fatalf("%+v", a)
	}
	if got.Method != "POST" || got.URL.Path != "/hook" || string(gotBody) != string(body) ||
		got.Header.Get("Content-Type") != "application/json" || got.Header.Get("User-Agent") != "kubectl-shipjob/1.2" ||
		got.Header.Get("X-Shipjob-Delivery") != "run-1.ops" || Verify([]byte("s"), rcv.URL+"/hook", got.Header, gotBody, time.Unix(1765000000, 0), 0) != nil {
		t.Errorf("request %s %s %q %v", got.Method, got.URL, gotBody, got.Header)
	}
	if a := s.Send(t.Context(), rcv.URL, body, "application/json", map[string]string{"X-Bad": "a\r\nInjected: 1"}); a.Err == nil || a.Retryable {
		t.Errorf("header with CRLF: %+v", a)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestNotifySendHTTPS(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	defer srv.Close()
	// https needs no AllowInsecure.
	if a := trusting(NewSender(Options{AllowPrivate: true}), srv).Send(t.Context(), srv.URL, nil, "application/json", nil); a.Err != nil || a.Status != 200 {
		t.Errorf("trusted: %+v", a)
	}
	a := NewSender(Options{AllowPrivate: true}).Send(t.Context(), srv.URL, nil, "application/json", nil)
	if a.Err == nil || a.Retryable || !strings.HasPrefix(a.Err.Error(), "TLS: ") {
		t.Errorf("untrusted certificate: %+v", a)
	}
	if hits.Load() != 1 {
		t.Errorf("%d requests, want 1", hits.Load())
	}
}

func TestNotifySendNoRedirect(t *testing.T) {
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		target := newReceiver(t, ok)
		rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/elsewhere", code)
		})
		a := NewSender(Options{AllowPrivate: true, AllowInsecure: true}).Send(t.Context(), rcv.URL, []byte("{}"), "application/json", nil)
		// The Location is not repeated: it may echo the webhook URL (review N8).
		want := "receiver answered " + strconv.Itoa(code) + " " + http.StatusText(code) + " (a redirect, not followed)"
		if a.Status != code || a.Retryable || a.Err == nil || a.Err.Error() != want {
			t.Errorf("%d: %+v, want %s", code, a, want)
		}
		if rcv.hits.Load() != 1 || target.hits.Load() != 0 {
			t.Errorf("%d: %d requests to the receiver, %d to the redirect target; want 1, 0", code, rcv.hits.Load(), target.hits.Load())
		}
	}
}

// countingTransport counts the bytes read from answers' bodies.
type countingTransport struct {
	http.RoundTripper
	read *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.RoundTripper.RoundTrip(r)
	if resp != nil {
		resp.Body = countingBody{resp.Body, c.read}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	read *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read.Add(int64(n))
	return n, err
}

func TestNotifySendBoundsAnswer(t *testing.T) {
	for _, code := range []int{200, 500} {
		var written atomic.Int64
		writeErr := make(chan error, 1)
		rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(code)
			chunk := []byte(strings.Repeat("x", 32<<10))
			for range (10 << 20) / len(chunk) {
				n, err := w.Write(chunk)
				written.Add(int64(n))
				if err != nil {
					writeErr <- err
					return
				}
			}
			writeErr <- nil
		})
		s := NewSender(Options{AllowPrivate: true, AllowInsecure: true, Timeout: 10 * time.Second})
		var read atomic.Int64
		s.client.Transport = countingTransport{s.client.Transport, &read}
		start := time.Now()
		a := s.Send(t.Context(), rcv.URL, []byte("{}"), "application/json", nil)
		if a.Status != code || (code == 200) != (a.Err == nil) || time.Since(start) > 5*time.Second {
			t.Errorf("%d: %+v after %v", code, a, time.Since(start))
		}
		if a.Err != nil && len(a.Err.Error()) > 300 {
			t.Errorf("%d: error of %d bytes", code, len(a.Err.Error()))
		}
		if n := read.Load(); n > maxAnswer {
			t.Errorf("%d: read %d bytes of the answer, want at most %d", code, n, maxAnswer)
		}
		// The connection was dropped, not drained: the receiver's writes fail.
		select {
		case err := <-writeErr:
			t.Logf("%d: receiver wrote %d bytes, then: %v", code, written.Load(), err)
		case <-time.After(5 * time.Second):
			t.Errorf("%d: the receiver is still writing after %d bytes", code, written.Load())
		}
	}
}

func TestNotifySendAnswers(t *testing.T) {
	for code, want := range map[int]struct {
		err       string
		retryable bool
	}{
		200: {"", false},
		202: {"", false},
		// Only the status: the body may echo the URL (review N8).
		400: {"receiver answered 400 Bad Request", false},
		401: {"receiver answered 401 Unauthorized", false},
		404: {"receiver answered 404 Not Found", false},
		429: {"receiver answered 429 Too Many Requests", true},
		500: {"receiver answered 500 Internal Server Error", true},
		503: {"receiver answered 503 Service Unavailable", true},
		599: {"receiver answered 599", true},
		304: {"receiver answered 304 Not Modified (a redirect, not followed)", false},
	} {
		rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(code)
			io.WriteString(w, "Cannot POST /hooks/SECRET\n\x00\x1b")
		})
		a := NewSender(Options{AllowPrivate: true, AllowInsecure: true}).Send(t.Context(), rcv.URL, nil, "application/json", nil)
		if got := errString(a.Err); a.Status != code || got != want.err || a.Retryable != want.retryable || a.Refused {
			t.Errorf("%d: %+v, want %q retryable %v", code, a, want.err, want.retryable)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Webhook URLs often hold a secret in their path: no error repeats it.
func TestNotifySendHidesURL(t *testing.T) {
	hang := newReceiver(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	closed := newReceiver(t, ok)
	closed.Close()
	s := NewSender(Options{AllowPrivate: true, AllowInsecure: true, Timeout: 100 * time.Millisecond})
	for name, c := range map[string]struct{ url, want string }{
		"no connection": {closed.URL + "/services/SECRET", "connection refused"},
		"timeout":       {hang.URL + "/services/SECRET", "no answer within 100ms"},
		"bad escape":    {"https://h.example/services/SECRET%zz", "invalid webhook URL"},
		"no such host":  {"http://no-such-host.invalid/services/SECRET", "DNS: "},
	} {
		a := s.Send(t.Context(), c.url, nil, "application/json", nil)
		if a.Err == nil || !strings.Contains(a.Err.Error(), c.want) || strings.Contains(a.Err.Error(), "SECRET") ||
			strings.Contains(a.Err.Error(), "\n") {
			t.Errorf("%s: %v, want one line with %q and no SECRET", name, a.Err, c.want)
		}
		if name != "bad escape" && !a.Retryable {
			t.Errorf("%s: not retryable", name)
		}
	}
}

func TestNotifyCheckURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://hooks.slack.com/services/T/B/X": "",
		"http://receiver.ops.svc:8080/hook":      "",
		"HTTPS://Example.com":                    "",
		"ftp://example.com/x":                    `scheme must be http or https, not "ftp"`,
		"example.com/hook":                       `scheme must be http or https, not ""`,
		"https://":                               "no host",
		"https:///path":                          "no host",
		"https://:443/":                          "no host",
		"http:example.com":                       "no host",
		"https://user:hunter2@example.com/":      "user information",
		"https://exa mple.com/":                  "invalid webhook URL",
		"https://example.com/\x7f":               "invalid webhook URL",
	} {
		err := CheckURL(raw)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", raw, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: %v, want %q", raw, err, want)
		case err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "mple.com")):
			t.Errorf("%q: the error repeats the URL: %v", raw, err)
		}
	}
	// Send checks too, before any connection.
	a := NewSender(Options{AllowPrivate: true, AllowInsecure: true}).Send(t.Context(), "ftp://x/", nil, "", nil)
	if a.Err == nil || a.Retryable {
		t.Errorf("ftp: %+v", a)
	}
}
