package commands

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestHookServeNamespaces: -n, --namespaces and -A exclude each other;
// --namespaces holds namespace names; the server gets the sorted unique
// list, "" for -A.
func TestHookServeNamespaces(t *testing.T) {
	base := HooksServeOptions{Listen: ":8080", RateLimit: 1, RateBurst: 10, TriggerTimeout: time.Minute, ShutdownTimeout: time.Minute,
		target: target{Namespace: "kubeconfig-ns"}}
	for name, tc := range map[string]struct {
		mutate func(*HooksServeOptions)
		want   string // served namespaces, or "error"
	}{
		"kubeconfig's namespace": {func(o *HooksServeOptions) {}, "kubeconfig-ns"},
		"-n":                     {func(o *HooksServeOptions) { o.target.Namespace, o.target.ExplicitNamespace = "a", true }, "a"},
		"--namespaces":           {func(o *HooksServeOptions) { o.Namespaces = []string{"b", "a", "b"} }, "a,b"},
		"-A":                     {func(o *HooksServeOptions) { o.AllNamespaces = true }, ""},
		"-A with --namespaces":   {func(o *HooksServeOptions) { o.AllNamespaces, o.Namespaces = true, []string{"a"} }, "error"},
		"-n with --namespaces": {func(o *HooksServeOptions) {
			o.Namespaces, o.target.ExplicitNamespace = []string{"a"}, true
		}, "error"},
		"empty entry":       {func(o *HooksServeOptions) { o.Namespaces = []string{"a", ""} }, "error"},
		"not a namespace":   {func(o *HooksServeOptions) { o.Namespaces = []string{"A_b"} }, "error"},
		"no namespace":      {func(o *HooksServeOptions) { o.target.Namespace = "" }, "error"},
		"--namespaces only": {func(o *HooksServeOptions) { o.target.Namespace, o.Namespaces = "", []string{"x"} }, "x"},
	} {
		o := base
		tc.mutate(&o)
		err := o.Validate()
		switch {
		case tc.want == "error" && err == nil:
			t.Errorf("%s: no error", name)
		case tc.want != "error" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.want != "error" && o.servedNamespaces() != tc.want:
			t.Errorf("%s: serves %q, want %q", name, o.servedNamespaces(), tc.want)
		}
	}
}

// TestHookServeWebhookCIDRFlags: the CIDR flags are read strictly; a bad
// one is one line naming the flag.
func TestHookServeWebhookCIDRFlags(t *testing.T) {
	got, err := parseCIDRs([]string{"127.0.0.0/8", " 10.1.2.3 ", "fd00::/8", "::ffff:10.0.0.0/104", "192.168.1.7/24"})
	want := []string{"127.0.0.0/8", "10.1.2.3/32", "fd00::/8", "::ffff:10.0.0.0/104", "192.168.1.0/24"}
	if err != nil || len(got) != len(want) {
		t.Fatalf("parseCIDRs = %v, %v", got, err)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("%d: %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.0/8/8", "fe80::1%eth0"} {
		if _, err := parseCIDRs([]string{bad}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: %v, want an error naming it", bad, err)
		}
	}
}

// TestHookServeConsoleFlags: the console's flags are checked only with
// --console; each bad one is one line naming it.
func TestHookServeConsoleFlags(t *testing.T) {
	dir := t.TempDir()
	secret, empty, ca, notPEM := dir+"/secret", dir+"/empty", dir+"/ca.pem", dir+"/ca.txt"
	for f, body := range map[string]string{secret: " console-secret\n", empty: "\n", ca: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", notPEM: "nope"} {
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	good := ConsoleOptions{Enabled: true, Listen: ":8443", URL: "https://console.example.com", TLSCertFile: "c.crt", TLSKeyFile: "c.key",
		IssuerURL: "https://idp.example.com", ClientID: "shipjob-console", ClientSecretFile: secret, Scopes: "openid,email",
		UsernameClaim: "email", GroupsClaim: "groups", Auth: "token", SessionSecret: "shipjob-console-session", SessionMax: time.Hour}
	for name, tc := range map[string]struct {
		mutate func(*ConsoleOptions)
		want   string // "" = valid; else in the error
	}{
		"valid":                {func(*ConsoleOptions) {}, ""},
		"off: nothing checked": {func(c *ConsoleOptions) { *c = ConsoleOptions{URL: "nope"} }, ""},
		"loopback http":        {func(c *ConsoleOptions) { c.URL, c.TLSCertFile, c.TLSKeyFile = "http://127.0.0.1:8443", "", "" }, ""},
		"impersonate":          {func(c *ConsoleOptions) { c.Auth = "impersonate" }, ""},
		"CA file":              {func(c *ConsoleOptions) { c.CAFile = ca }, ""},
		"no URL":               {func(c *ConsoleOptions) { c.URL = "" }, "--console-url is required"},
		"URL with path":        {func(c *ConsoleOptions) { c.URL = "https://x.example/console" }, "invalid --console-url"},
		"http, not loopback":   {func(c *ConsoleOptions) { c.URL, c.TLSCertFile, c.TLSKeyFile = "http://console.example.com", "", "" }, "plain http only"},
		"https without TLS":    {func(c *ConsoleOptions) { c.TLSCertFile, c.TLSKeyFile = "", "" }, "is https"},
		"http with TLS":        {func(c *ConsoleOptions) { c.URL = "http://127.0.0.1:8443" }, "serves HTTPS"},
		"cert without key":     {func(c *ConsoleOptions) { c.TLSKeyFile = "" }, "must be given together"},
		"same listener":        {func(c *ConsoleOptions) { c.Listen = ":8080" }, "its own"},
		"no issuer":            {func(c *ConsoleOptions) { c.IssuerURL = "" }, "--oidc-issuer-url"},
		"http issuer":          {func(c *ConsoleOptions) { c.IssuerURL = "http://idp.example.com" }, "--oidc-issuer-url"},
		"no client id":         {func(c *ConsoleOptions) { c.ClientID = " " }, "--oidc-client-id"},
		"no secret file":       {func(c *ConsoleOptions) { c.ClientSecretFile = "" }, "--oidc-client-secret-file is required"},
		"missing secret file":  {func(c *ConsoleOptions) { c.ClientSecretFile = dir + "/none" }, "read --oidc-client-secret-file"},
		"empty secret":         {func(c *ConsoleOptions) { c.ClientSecretFile = empty }, "is empty"},
		"CA not PEM":           {func(c *ConsoleOptions) { c.CAFile = notPEM }, "--oidc-ca-file"},
		"bad auth":             {func(c *ConsoleOptions) { c.Auth = "cookie" }, "--console-auth"},
		"no username claim":    {func(c *ConsoleOptions) { c.UsernameClaim = "" }, "--oidc-username-claim"},
		"zero session max":     {func(c *ConsoleOptions) { c.SessionMax = 0 }, "--console-session-max"},
		"bad session secret":   {func(c *ConsoleOptions) { c.SessionSecret = "Bad_Name" }, "--console-session-secret"},
	} {
		c := good
		tc.mutate(&c)
		err := c.validate(":8080")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n")):
			t.Errorf("%s: %v, want one line with %q", name, err, tc.want)
		case name == "valid" && c.clientSecret != "console-secret":
			t.Errorf("client secret %q, want it trimmed", c.clientSecret)
		}
	}
}
