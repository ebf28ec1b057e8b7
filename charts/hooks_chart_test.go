package charts

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"
	"sigs.k8s.io/yaml"
)

// renderHooksChart renders charts/shipjob-hooks as release "hooks" in
// namespace "hooks" with values, as `helm template` would.
func renderHooksChart(t *testing.T, values map[string]any) (map[string]string, error) {
	t.Helper()
	c, err := loader.Load("shipjob-hooks")
	if err != nil {
		t.Fatal(err)
	}
	vals, err := chartutil.ToRenderValues(c, values, chartutil.ReleaseOptions{Name: "hooks", Namespace: "hooks", IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	return engine.Render(c, vals)
}

// hooksChartRoles returns the rules of the rendered (Cluster)Roles: those
// the RoleBindings of the served namespaces refer to, and the leader
// election Role's.
func hooksChartRoles(t *testing.T, out map[string]string) (served, lease []rbacv1.PolicyRule, bindings map[string]string) {
	t.Helper()
	bindings = map[string]string{}
	for _, doc := range strings.Split(out["shipjob-hooks/templates/rbac.yaml"], "\n---") {
		var obj struct {
			Kind     string
			Metadata struct{ Name, Namespace string }
			Rules    []rbacv1.PolicyRule
			RoleRef  rbacv1.RoleRef `json:"roleRef"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("rbac.yaml: %v\n%s", err, doc)
		}
		switch {
		case obj.Kind == "RoleBinding":
			bindings[obj.Metadata.Namespace+"/"+obj.Metadata.Name] = obj.RoleRef.Kind + "/" + obj.RoleRef.Name
		case strings.HasSuffix(obj.Metadata.Name, "-leader-election"):
			lease = obj.Rules
		case obj.Kind == "ClusterRole" || obj.Kind == "Role":
			// One ClusterRole, or the same Role in each served namespace.
			served = obj.Rules
		case obj.Kind != "":
			t.Fatalf("rbac.yaml renders a %s", obj.Kind)
		}
	}
	return served, lease, bindings
}

func rule(group, resource string, verbs ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: verbs}
}

// TestHookChartRoleGrantsExactlyWhatRunsNeed: in every combination of
// notifications, schedules, leader election and role kind, the served namespaces'
// role covers what triggers need — Jobs list (active runs, an
// Idempotency-Key's run, metadata-only lists), patch (Replace cancels),
// delete (finished runs beyond the history bound) — and grants nothing
// more than the table of docs/security.md (N3).
func TestHookChartRoleGrantsExactlyWhatRunsNeed(t *testing.T) {
	trigger := []rbacv1.PolicyRule{
		rule("", "secrets", "get", "list", "watch", "create", "update", "patch", "delete"),
		rule("batch", "jobs", "get", "list", "create", "patch", "delete"),
		rule("batch", "jobs/finalizers", "update"),
		rule("", "pods", "list"),
	}
	runEnds := []rbacv1.PolicyRule{
		rule("batch", "jobs", "watch", "update"),
		rule("", "events", "create"),
	}
	// The scheduler reads definitions and runs with the trigger's verbs.
	schedules := []rbacv1.PolicyRule{
		rule("", "events", "create"),
		rule("coordination.k8s.io", "leases", "create"),
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{"shipjob-schedules"}, Verbs: []string{"get", "update"}},
	}
	for _, c := range modes() {
		notify, sched, leader, kind := c.notify, c.sched, c.leader, c.kind
		t.Run(fmt.Sprintf("notifications=%v,schedules=%v,leaderElection=%v,%s", notify, sched, leader, kind), func(t *testing.T) {
			out, err := renderHooksChart(t, map[string]any{
				"server":         map[string]any{"namespaces": []any{"jobs-a", "jobs-b"}, "schedules": sched},
				"notifications":  map[string]any{"enabled": notify},
				"leaderElection": map[string]any{"enabled": leader},
				"rbac":           map[string]any{"roleKind": kind},
			})
			if err != nil {
				t.Fatal(err)
			}
			served, lease, bindings := hooksChartRoles(t, out)
			want := slices.Clone(trigger)
			if notify {
				want = append(want, runEnds...)
			}
			if sched {
				want = append(want, schedules...)
			}
			if ok, missing := validation.Covers(served, want); !ok {
				t.Errorf("the role lacks %v", missing)
			}
			if ok, extra := validation.Covers(want, served); !ok {
				t.Errorf("the role grants more than runs need: %v", extra)
			}
			wantBindings := []string{"jobs-a/hooks-hooks-shipjob-hooks", "jobs-b/hooks-hooks-shipjob-hooks"}
			if (notify || sched) && leader {
				if !strings.Contains(out["shipjob-hooks/templates/deployment.yaml"], "--leader-election=true") {
					t.Error("the Deployment does not elect a leader")
				}
				wantBindings = append(wantBindings, "hooks/hooks-shipjob-hooks-leader-election")
				leaseRules := []rbacv1.PolicyRule{rule("coordination.k8s.io", "leases", "create"),
					{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{"hooks-shipjob-hooks"}, Verbs: []string{"get", "update"}}}
				if ok, _ := validation.Covers(lease, leaseRules); !ok {
					t.Errorf("leader election Role %v, want %v", lease, leaseRules)
				}
				if ok, extra := validation.Covers(leaseRules, lease); !ok {
					t.Errorf("leader election Role grants more: %v", extra)
				}
			} else if lease != nil {
				t.Errorf("a leader election Role without leader election: %v", lease)
			}
			if !strings.Contains(out["shipjob-hooks/templates/deployment.yaml"], fmt.Sprintf("--schedules=%v", sched)) {
				t.Errorf("the Deployment lacks --schedules=%v", sched)
			}
			slices.Sort(wantBindings)
			if got := slices.Sorted(maps.Keys(bindings)); !slices.Equal(got, wantBindings) {
				t.Errorf("RoleBindings %v, want %v", got, wantBindings)
			}
		})
	}
}

type chartMode struct {
	notify, sched, leader bool
	kind                  string
}

// modes are the combinations of notifications, schedules, leader election
// and role kind.
func modes() []chartMode {
	var out []chartMode
	for _, notify := range []bool{true, false} {
		for _, sched := range []bool{true, false} {
			for _, leader := range []bool{true, false} {
				for _, kind := range []string{"ClusterRole", "Role"} {
					out = append(out, chartMode{notify, sched, leader, kind})
				}
			}
		}
	}
	return out
}

// TestHookChartServedNamespaces: server.namespaces is required and may
// hold the release namespace only with server.allowReleaseNamespace (N4);
// the refusals name the value and the way out.
func TestHookChartServedNamespaces(t *testing.T) {
	const (
		required = `server.namespaces is required: the jobs namespaces to serve, other than the release namespace "hooks", e.g. --set 'server.namespaces={jobs}'`
		contains = `server.namespaces contains the release namespace "hooks": the server could rewrite this chart's own release records, which a later helm rollback applies; install the chart in a namespace of its own, or set server.allowReleaseNamespace=true on purpose`
	)
	for _, tc := range []struct {
		name   string
		server map[string]any
		want   string // error, or "" and then the --namespaces argument
		args   string
	}{
		{"unset", nil, required, ""},
		{"empty", map[string]any{"namespaces": []any{}}, required, ""},
		{"an empty name", map[string]any{"namespaces": []any{""}}, required, ""},
		{"empty, allowed", map[string]any{"namespaces": []any{}, "allowReleaseNamespace": true}, required, ""},
		{"a string", map[string]any{"namespaces": "jobs"}, `server.namespaces must be a list, e.g. --set 'server.namespaces={jobs}', not "jobs"`, ""},
		{"release namespace", map[string]any{"namespaces": []any{"hooks"}}, contains, ""},
		{"among others", map[string]any{"namespaces": []any{"jobs", "hooks"}}, contains, ""},
		{"not allowed", map[string]any{"namespaces": []any{"hooks"}, "allowReleaseNamespace": false}, contains, ""},
		{"allowed", map[string]any{"namespaces": []any{"hooks"}, "allowReleaseNamespace": true}, "", "--namespaces=hooks"},
		{"others", map[string]any{"namespaces": []any{"jobs-b", "jobs-a", "jobs-b"}}, "", "--namespaces=jobs-a,jobs-b"},
		{"bad name", map[string]any{"namespaces": []any{"Jobs"}}, `server.namespaces: "Jobs" is not a namespace name`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := map[string]any{}
			if tc.server != nil {
				values["server"] = tc.server
			}
			out, err := renderHooksChart(t, values)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("render: %v, want an error with %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := out["shipjob-hooks/templates/deployment.yaml"]; !strings.Contains(d, tc.args) {
				t.Errorf("the Deployment lacks %s", tc.args)
			}
		})
	}
}
