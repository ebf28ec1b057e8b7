package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// Review 2026-11-30 L1, L2, L5, L7 against the real binary and cluster.

// TestHookStrictBodyIsRejected (L1): bodies encoding/json read leniently
// are 400s naming the field, and create no run.
func TestHookStrictBodyIsRejected(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "strict", "--required-param", "REQ", "--param", "OPT=x")
	_, token := createHook(t, ns, "strict", "CI")
	srv := startHookServer(t, "-n", ns, "--rate-limit", "0")
	for _, tc := range []struct{ name, body, want string }{
		{"upper-case key", `{"IMAGETAG":"1","instanceEnvironmentVariables":[{"name":"REQ","value":"1"}]}`, `unknown field \"IMAGETAG\"`},
		{"upper-case item key", `{"instanceEnvironmentVariables":[{"NAME":"REQ","VALUE":"1"}]}`, `instanceEnvironmentVariables[0]: unknown field \"NAME\"`},
		{"duplicate top-level key", `{"imageTag":"good","imageTag":"evil","instanceEnvironmentVariables":[{"name":"REQ","value":"1"}]}`, `duplicate field \"imageTag\"`},
		{"duplicate item key", `{"instanceEnvironmentVariables":[{"name":"OPT","name":"REQ","value":"1"}]}`, `instanceEnvironmentVariables[0]: duplicate field \"name\"`},
		{"null body", `null`, "the body must be an object, not null"},
		{"null required value", `{"instanceEnvironmentVariables":[{"name":"REQ","value":null}]}`, "instanceEnvironmentVariables[0].value must be a string, not null"},
		{"empty required value", `{"instanceEnvironmentVariables":[{"name":"REQ","value":""}]}`, `required parameter \"REQ\" for job strict needs a value`},
		{"null tag", `{"imageTag":null,"instanceEnvironmentVariables":[{"name":"REQ","value":"1"}]}`, "imageTag must be a string, not null"},
		{"NUL in value", `{"instanceEnvironmentVariables":[{"name":"REQ","value":"a\u0000b"}]}`, "instanceEnvironmentVariables[0].value: control character U+0000 is not allowed"},
		{"newline in value", `{"instanceEnvironmentVariables":[{"name":"REQ","value":"a\nb"}]}`, "control character U+000A"},
		{"DEL in tag", "{\"imageTag\":\"1\x7f\",\"instanceEnvironmentVariables\":[{\"name\":\"REQ\",\"value\":\"1\"}]}", "imageTag: control character U+007F"},
	} {
		code, body, err := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", token, "application/json", tc.body)
		if err != nil || code != 400 || !strings.Contains(body, tc.want) || strings.Count(strings.TrimSpace(body), "\n") != 0 {
			t.Errorf("%s: %d %s (%v), want 400 with %q", tc.name, code, body, err, tc.want)
		}
	}
	if runs := runJobs(t, ns, "strict"); len(runs) != 0 {
		t.Fatalf("rejected bodies created runs: %v", runs)
	}
	// The same request, well-formed, is accepted.
	if code, body, _ := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", token, "application/json",
		`{"instanceEnvironmentVariables":[{"name":"REQ","value":"1"}]}`); code != 201 {
		t.Fatalf("valid body: %d %s", code, body)
	}
}

// TestHookOldTokenAfterJobRecreated (L2): a hook is bound to its job's UID;
// after the job is deleted and created again under the same name, the old
// token is not found, also when the hook outlived the job (delete
// --cascade=orphan keeps it, without its ownerReference).
func TestHookOldTokenAfterJobRecreated(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	createSimJob(t, ns, "deploy")
	id, token := createHook(t, ns, "deploy", "CI")
	srv := startHookServer(t, "-n", ns, "--rate-limit", "0")
	if code, body, _ := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", token, "application/json", `{}`); code != 201 {
		t.Fatalf("before: %d %s", code, body)
	}

	// The job Secret deleted, orphaning its hook, then created again.
	cluster.Kubectl(t, "-n", ns, "delete", "secret", "shipjob-job-deploy", "--cascade=orphan", "--wait")
	eventually(t, 30*time.Second, "hook orphaned", func() bool {
		sec, err := cs.CoreV1().Secrets(ns).Get(ctx, "shipjob-hook-"+id, metav1.GetOptions{})
		return err == nil && len(sec.OwnerReferences) == 0
	})
	createSimJob(t, ns, "deploy")
	before := runJobs(t, ns, "deploy")
	code, body, _ := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", token, "application/json", `{}`)
	if code != 404 || !strings.Contains(body, "hook not found") {
		t.Fatalf("old token after the job was re-created: %d %s", code, body)
	}
	if after := runJobs(t, ns, "deploy"); len(after) != len(before) {
		t.Fatalf("the old token triggered the new job: %v → %v", before, after)
	}
	// A hook of the new job works; deleting the job (the CLI) and creating
	// it again makes that one 404 as well, whether or not the garbage
	// collector has deleted it yet.
	_, token2 := createHook(t, ns, "deploy", "CI again")
	eventually(t, 10*time.Second, "new hook accepted", func() bool {
		code, _, _ := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", token2, "application/json", `{}`)
		return code == 201
	})
	mustShipjob(t, "delete", "deploy", "-n", ns)
	createSimJob(t, ns, "deploy")
	if code, body, _ := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", token2, "application/json", `{}`); code != 404 {
		t.Fatalf("token of the deleted job: %d %s", code, body)
	}
}

// TestHookStatusURLFromExternalURL (L7): statusUrl is --external-url plus
// the run's path, whatever Host and X-Forwarded-* the caller sends.
func TestHookStatusURLFromExternalURL(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "web")
	_, token := createHook(t, ns, "web", "CI")
	srv := startHookServer(t, "-n", ns, "--external-url", "https://hooks.example.com")
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/dh", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "evil.example"
	req.Header.Set("X-Forwarded-Host", "evil.example")
	req.Header.Set("X-Forwarded-Proto", "http")
	req.Header.Set("X-Deploy-Hook-Token", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hookClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("trigger: %d %s", resp.StatusCode, data)
	}
	tr := decodeTriggered(t, string(data))
	if tr.StatusURL != "https://hooks.example.com/api/v1/dh/runs/"+tr.Run || strings.Contains(string(data), "evil") {
		t.Fatalf("statusUrl %q with a hostile Host header", tr.StatusURL)
	}
	path := strings.TrimPrefix(tr.StatusURL, "https://hooks.example.com")
	if code, body, _ := hookCall(http.MethodGet, srv.URL+path, token, "", ""); code != 200 {
		t.Fatalf("status at the statusUrl's path: %d %s", code, body)
	}
}

// TestHookUnauthenticatedLimitedPerAddress (L5): requests without a valid
// token are answered 429 over the per-address limit, valid tokens are not,
// and none of them is logged above debug level.
func TestHookUnauthenticatedLimitedPerAddress(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "web")
	_, token := createHook(t, ns, "web", "CI")
	srv := startHookServer(t, "-n", ns, "--unauthenticated-rate-limit", "0.01", "--unauthenticated-rate-burst", "3")
	bad := "k3x9q2m7ab_" + strings.Repeat("B", 43)
	var codes []int
	for range 5 {
		code, _, _ := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", bad, "application/json", `{}`)
		codes = append(codes, code)
	}
	if code, _, _ := hookCall(http.MethodGet, srv.URL+"/"+strings.Repeat("x", 4000)+"%0a", "", "", ""); code != 429 {
		t.Errorf("unknown path over the limit: %d", code)
	}
	if codes[0] != 404 || codes[2] != 404 || codes[3] != 429 || codes[4] != 429 {
		t.Fatalf("bad tokens: %v, want 404 404 404 429 429", codes)
	}
	if code, body, _ := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", token, "application/json", `{}`); code != 201 {
		t.Fatalf("valid token from the limited address: %d %s", code, body)
	}
	for _, line := range strings.Split(srv.logs.String(), "\n") {
		var l struct{ Level, Msg, Path string }
		if json.Unmarshal([]byte(line), &l) != nil || l.Msg != "request" {
			continue
		}
		if (strings.Contains(line, `"status":404`) || strings.Contains(line, `"status":429`)) && l.Level != "DEBUG" {
			t.Errorf("logged at %s: %s", l.Level, line)
		}
		if len(l.Path) > 200 {
			t.Errorf("logged path of %d bytes", len(l.Path))
		}
	}
}
