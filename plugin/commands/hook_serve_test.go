package commands

import (
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
