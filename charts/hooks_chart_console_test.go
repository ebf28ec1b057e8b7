package charts

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// consoleValues are a complete console in mode auth.
func consoleValues(auth string) map[string]any {
	return map[string]any{
		"server": map[string]any{"namespaces": []any{"jobs"}},
		"console": map[string]any{"enabled": true, "url": "https://console.example.com", "auth": auth,
			"tls": map[string]any{"secretName": "console-tls"}, "ingress": map[string]any{"enabled": true}},
		"oidc": map[string]any{"issuerURL": "https://login.example.com", "clientID": "shipjob-console",
			"clientSecret": map[string]any{"secretName": "oidc"}, "groupsPrefix": "oidc:"},
	}
}

// TestHookChartConsole: off, the chart has no trace of the console; on, the
// server gets the console's flags, port, Service port and Ingress; the
// impersonation ClusterRole exists only with console.auth=impersonate.
func TestHookChartConsole(t *testing.T) {
	off, err := renderHooksChart(t, map[string]any{"server": map[string]any{"namespaces": []any{"jobs"}}})
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range off {
		if strings.Contains(body, "console") || strings.Contains(body, "impersonate") {
			t.Errorf("console off: %s mentions the console:\n%s", name, body)
		}
	}
	for _, auth := range []string{"token", "impersonate"} {
		out, err := renderHooksChart(t, consoleValues(auth))
		if err != nil {
			t.Fatalf("%s: %v", auth, err)
		}
		dep := out["shipjob-hooks/templates/deployment.yaml"]
		for _, want := range []string{`- --console`, `- --console-listen=:8443`, `"--console-url=https://console.example.com"`,
			`"--console-auth=` + auth + `"`, `"--oidc-issuer-url=https://login.example.com"`, `--oidc-client-secret-file=/oidc/client-secret`,
			`"--oidc-groups-prefix=oidc:"`, "name: console\n              containerPort: 8443", "secretName: \"console-tls\""} {
			if !strings.Contains(dep, want) {
				t.Errorf("%s: the Deployment lacks %q", auth, want)
			}
		}
		if svc := out["shipjob-hooks/templates/service.yaml"]; !strings.Contains(svc, "targetPort: console") {
			t.Errorf("%s: the Service has no console port:\n%s", auth, svc)
		}
		if ing := out["shipjob-hooks/templates/console-ingress.yaml"]; !strings.Contains(ing, "name: console") || !strings.Contains(ing, `"console.example.com"`) {
			t.Errorf("%s: console Ingress:\n%s", auth, ing)
		}
		kinds := map[string]int{}
		impersonate := false
		for _, doc := range strings.Split(out["shipjob-hooks/templates/console-rbac.yaml"], "\n---") {
			var obj struct {
				Kind  string
				Rules []struct{ Verbs, Resources, ResourceNames []string }
			}
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Fatal(err)
			}
			kinds[obj.Kind]++
			for _, r := range obj.Rules {
				if strings.Join(r.Verbs, ",") == "impersonate" {
					impersonate = obj.Kind == "ClusterRole" && strings.Join(r.Resources, ",") == "users,groups"
				}
				if obj.Kind == "Role" && strings.Contains(strings.Join(r.Verbs, ","), "get") && strings.Join(r.ResourceNames, ",") != "shipjob-console-session" {
					t.Errorf("%s: the session Role reads more than its Secret: %+v", auth, r)
				}
			}
		}
		if impersonate != (auth == "impersonate") || (kinds["ClusterRoleBinding"] == 1) != (auth == "impersonate") {
			t.Errorf("%s: impersonation granted = %v, kinds %v", auth, impersonate, kinds)
		}
		for name, body := range out {
			if name != "shipjob-hooks/templates/console-rbac.yaml" && strings.Contains(body, "impersonate\n") {
				t.Errorf("%s: %s grants impersonation", auth, name)
			}
		}
	}
}

// TestHookChartConsoleRequired: each missing value is named.
func TestHookChartConsoleRequired(t *testing.T) {
	for path, want := range map[string]string{
		"console.url":                  "console.url is required",
		"console.tls.secretName":       "console.tls.secretName is required",
		"oidc.issuerURL":               "oidc.issuerURL is required",
		"oidc.clientID":                "oidc.clientID is required",
		"oidc.clientSecret.secretName": "oidc.clientSecret.secretName is required",
	} {
		v := consoleValues("token")
		m := v
		parts := strings.Split(path, ".")
		for _, p := range parts[:len(parts)-1] {
			m = m[p].(map[string]any)
		}
		m[parts[len(parts)-1]] = ""
		if _, err := renderHooksChart(t, v); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s unset: %v, want %q", path, err, want)
		}
	}
	v := consoleValues("cookie")
	if _, err := renderHooksChart(t, v); err == nil || !strings.Contains(err.Error(), "console.auth must be token or impersonate") {
		t.Errorf("bad auth: %v", err)
	}
}
