package hookserver

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
)

// TestHookUnauthenticatedRateLimitPerClient is L5 of the security review:
// requests without a valid token are limited per client address (429 over
// the limit), requests with one never are, and X-Forwarded-For counts only
// from a trusted proxy.
func TestHookUnauthenticatedRateLimitPerClient(t *testing.T) {
	f := newFixture(t, func(c *ServerConfig) { c.UnauthRateLimit, c.UnauthRateBurst = 0.001, 3 })
	_, unknown, _ := hook.NewToken()
	for i, want := range []int{404, 404, 404, 429, 429} {
		a := f.post(t, unknown, `{}`)
		if a.code != want {
			t.Fatalf("bad token %d: %d, want %d: %s", i, a.code, want, a.body)
		}
		if want == 429 && (a.header.Get("Retry-After") == "" || !strings.Contains(a.body, "without a valid token")) {
			t.Fatalf("429 answer: %v %s", a.header, a.body)
		}
	}
	// Unknown paths and wrong methods count as well; valid tokens pass.
	if a := f.do(t, http.MethodGet, "/wp-login.php", "", ""); a.code != 429 {
		t.Fatalf("unknown path over the limit: %d", a.code)
	}
	if a := f.do(t, http.MethodGet, hook.TriggerPath, f.token, ""); a.code != 429 {
		t.Fatalf("GET trigger over the limit: %d", a.code)
	}
	if a := f.post(t, f.token, `{}`); a.code != 201 {
		t.Fatalf("valid token from a limited address: %d %s", a.code, a.body)
	}
	// X-Forwarded-For is not believed from an untrusted peer.
	if a := f.do(t, http.MethodPost, hook.TriggerPath, unknown, `{}`, "Content-Type", "application/json", "X-Forwarded-For", "203.0.113.9"); a.code != 429 {
		t.Fatalf("spoofed X-Forwarded-For escaped the limit: %d", a.code)
	}
	if !strings.Contains(f.do(t, http.MethodGet, "/metrics", "", "").body, "shipjob_hooks_unauthenticated_limited_total 5") {
		t.Fatal("limited requests not counted in /metrics")
	}
}

func TestHookUnauthenticatedRateLimitBehindTrustedProxy(t *testing.T) {
	f := newFixture(t, func(c *ServerConfig) {
		c.UnauthRateLimit, c.UnauthRateBurst = 0.001, 1
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	_, unknown, _ := hook.NewToken()
	post := func(xff string) int {
		return f.do(t, http.MethodPost, hook.TriggerPath, unknown, `{}`, "Content-Type", "application/json", "X-Forwarded-For", xff).code
	}
	if a, b := post("198.51.100.1, 203.0.113.1"), post("203.0.113.1"); a != 404 || b != 429 {
		t.Fatalf("same client through the proxy: %d %d, want 404 429", a, b)
	}
	if c := post("203.0.113.2"); c != 404 {
		t.Fatalf("another client: %d, want 404", c)
	}
}

func TestHookClientOf(t *testing.T) {
	trusted, err := ParseTrustedProxies([]string{"10.0.0.0/8", " 192.0.2.1 ", ""})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		remote, xff string
		trusted     []netip.Prefix
		want        string
	}{
		"peer":                   {"198.51.100.7:4242", "", nil, "198.51.100.7"},
		"xff ignored":            {"198.51.100.7:4242", "203.0.113.1", nil, "198.51.100.7"},
		"xff from trusted":       {"10.1.2.3:80", "203.0.113.1", trusted, "203.0.113.1"},
		"xff from untrusted":     {"198.51.100.7:80", "203.0.113.1", trusted, "198.51.100.7"},
		"nearest untrusted hop":  {"10.1.2.3:80", "1.1.1.1, 203.0.113.1, 192.0.2.1", trusted, "203.0.113.1"},
		"garbage hop":            {"10.1.2.3:80", "203.0.113.1, nonsense", trusted, "10.1.2.3"},
		"all trusted":            {"10.1.2.3:80", "10.9.9.9", trusted, "10.9.9.9"},
		"ipv6 by /64":            {"[2001:db8:1:2:aaaa::1]:80", "", nil, "2001:db8:1:2::/64"},
		"ipv4-mapped":            {"[::ffff:198.51.100.7]:80", "", nil, "198.51.100.7"},
		"not an address escaped": {"pipe\n", "", nil, "remote:pipe%0A"},
	} {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := clientOf(r, tc.trusted); got != tc.want {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
	if _, err := ParseTrustedProxies([]string{"10.0.0.0/33"}); err == nil {
		t.Error("bad CIDR accepted")
	}
}

// TestHookClientLimiterIsBounded: an attacker with many addresses cannot
// grow the server's memory.
func TestHookClientLimiterIsBounded(t *testing.T) {
	l := newLimiter(1, 2, 100)
	now := time.Now()
	for i := range 10000 {
		l.allow(fmt.Sprintf("198.51.%d.%d", i/256, i%256), now)
	}
	if l.len() != 100 {
		t.Fatalf("%d clients tracked, want at most 100", l.len())
	}
	// The most recent ones are kept.
	key := "198.51.39.15" // the last of the loop
	if ok, _ := l.allow(key, now); ok {
		if ok, _ := l.allow(key, now); ok {
			t.Fatal("the most recent client's bucket was forgotten")
		}
	}
}

// TestHookNotFoundLogs: 404s are logged at debug only; a logged path is a
// bounded, escaped prefix of what the caller sent.
func TestHookNotFoundLogs(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var logs syncBuffer
		f := newFixture(t, func(c *ServerConfig) {
			c.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: level}))
		})
		_, unknown, _ := hook.NewToken()
		f.post(t, unknown, `{}`)
		f.do(t, http.MethodGet, "/"+strings.Repeat("A", 8000)+"%0a%7b%22level%22%3a%22ERROR%22%7d", "", "")
		f.do(t, http.MethodGet, "/x%0a%00%e2%80%a8y", "", "")
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			if strings.Contains(l, `"msg":"request"`) {
				lines = append(lines, l)
			}
		}
		out := strings.Join(lines, "\n")
		if level == slog.LevelInfo {
			if len(lines) != 0 {
				t.Fatalf("404s logged at info:\n%s", out)
			}
			continue
		}
		if len(lines) != 3 || !strings.Contains(lines[2], `"path":"/x%0A%00%E2%80%A8y"`) || len(lines[1]) > 600 || strings.Contains(out, "AAAA"+strings.Repeat("A", maxLoggedPath)) ||
			!strings.Contains(lines[1], "…(8019 bytes)") || strings.Contains(out, `{"level":"ERROR"}`) {
			t.Fatalf("debug log of a long path:\n%s", out)
		}
	}
}
