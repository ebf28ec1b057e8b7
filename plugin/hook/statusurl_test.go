package hook

import (
	"net/http"
	"strings"
	"testing"
)

// TestHookStatusURLIgnoresClientHeaders is L7 of the security review:
// statusUrl is built from the configured external URL, or is a path,
// never from the caller's Host or X-Forwarded-* headers.
func TestHookStatusURLIgnoresClientHeaders(t *testing.T) {
	for base, want := range map[string]string{
		"":                           RunsPath,
		"https://hooks.example.com":  "https://hooks.example.com" + RunsPath,
		"https://example.com/hooks/": "https://example.com/hooks" + RunsPath,
	} {
		f := newFixture(t, func(c *Config) { c.ExternalURL = base })
		a := f.do(t, http.MethodPost, TriggerPath, f.token, `{}`, "Content-Type", "application/json",
			"Host", "evil.example", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.example")
		var got Triggered
		a.json(t, &got)
		if a.code != 201 || got.StatusURL != want+got.Run || strings.Contains(a.body, "evil") {
			t.Errorf("external URL %q: %d statusUrl %q, want %q", base, a.code, got.StatusURL, want+got.Run)
		}
	}
}
