package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// shipmightCall is Shipmight's documented deploy hook call (its "Deploy
// hooks" page), with the job body of its API and the GitHub expressions
// as shell variables; only curl's output options are added.
const shipmightCall = `curl \
  -X POST \
  -H 'Content-Type: application/json' \
  -H "X-Deploy-Hook-Token: ${DEPLOY_HOOK}" \
  --data "${BODY}" \
  "${SHIPMIGHT_URL}/api/v1/dh" --silent --show-error --write-out '\n%{http_code}'`

// shipmight runs the documented call with curl (net/http without curl).
func shipmight(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		code, out, err := hookCall(http.MethodPost, url+"/api/v1/dh", token, "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		return code, out
	}
	cmd := exec.Command("bash", "-c", shipmightCall)
	cmd.Env = append(os.Environ(), "DEPLOY_HOOK="+token, "BODY="+body, "SHIPMIGHT_URL="+url)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl: %v: %s", err, out)
	}
	text := strings.TrimSpace(string(out))
	i := strings.LastIndexByte(text, '\n')
	code, err := strconv.Atoi(text[i+1:])
	if err != nil {
		t.Fatalf("curl output %q", out)
	}
	return code, text[:max(i, 0)]
}

func TestHookShipmightCurlCalls(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "example", "--param", "EXAMPLE_VAR=default")
	_, token := createHook(t, ns, "example", "CI on main")
	srv := startHookServer(t, "-n", ns)

	code, body := shipmight(t, srv.URL, token, `{"instanceEnvironmentVariables":[{"name":"EXAMPLE_VAR","value":"example"}]}`)
	if code != http.StatusCreated {
		t.Fatalf("job call: %d %s", code, body)
	}
	first := decodeTriggered(t, body)
	code, body = shipmight(t, srv.URL, token, `{"imageTag":"abc1234"}`)
	if code != http.StatusCreated {
		t.Fatalf("image tag call: %d %s", code, body)
	}
	second := decodeTriggered(t, body)
	if first.Job != "example" || first.Namespace != ns || first.StatusURL != "/api/v1/dh/runs/"+first.Run {
		t.Fatalf("201 body %+v", first)
	}
	byName := map[string]runStatus{}
	for _, r := range listRuns(t, ns, "example") {
		byName[r.Name] = r
	}
	r1, r2 := byName[first.Run], byName[second.Run]
	if len(byName) != 2 || r1.Parameters["EXAMPLE_VAR"] != "example" || !strings.HasPrefix(r1.Trigger, "hook:CI on main") {
		t.Fatalf("run of the job call: %+v (of %d runs)", r1, len(byName))
	}
	if r2.Image != "example.com/acme/sim:abc1234" || r2.Parameters["EXAMPLE_VAR"] != "default" {
		t.Fatalf("run of the image tag call: %+v", r2)
	}
}

func TestHookEveryStatusCode(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "web", "--param", "EXAMPLE_VAR=x")
	createSimJob(t, ns, "strict", "--required-param", "REQ")
	createSimJob(t, ns, "broken")
	_, tok := createHook(t, ns, "web", "web CI")
	_, strictTok := createHook(t, ns, "strict", "strict CI")
	_, brokenTok := createHook(t, ns, "broken", "broken CI")
	_, limitedTok := createHook(t, ns, "web", "limited CI")
	deletedID, deletedTok := createHook(t, ns, "web", "deleted CI")
	mustShipjob(t, "hook", "delete", deletedID, "-n", ns)
	// A definition the server cannot read: a 500, not the caller's fault.
	cluster.Kubectl(t, "-n", ns, "patch", "secret", "shipjob-job-broken", "--type", "merge", "-p", `{"data":{"job.json":"ew=="}}`)
	srv := startHookServer(t, "-n", ns, "--rate-limit", "0")
	limited := startHookServer(t, "-n", ns, "--rate-limit", "0.01", "--rate-burst", "1")
	unreachable := startHookServerNoWait(t, "-n", ns, "--server", "https://127.0.0.1:1")
	_, strictRunBody, _ := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", strictTok, "application/json",
		`{"instanceEnvironmentVariables":[{"name":"REQ","value":"1"}]}`)
	strictRun := decodeTriggered(t, strictRunBody).Run
	id, secret, _ := strings.Cut(tok, "_")
	wrong := id + "_" + strings.Repeat("A", len(secret))
	js := "application/json"
	rows := []struct {
		name                    string
		srv                     *hookServer
		method, path, token, ct string
		body                    string
		code                    int
		want                    string
	}{
		{"201 Shipmight job body", srv, "POST", "/api/v1/dh", tok, js, `{"instanceEnvironmentVariables":[{"name":"EXAMPLE_VAR","value":"y"}]}`, 201, `"run":"web-`},
		{"201 image tag", srv, "POST", "/api/v1/dh", tok, js, `{"imageTag":"1.2.0"}`, 201, `"job":"web"`},
		{"201 no body at all", srv, "POST", "/api/v1/dh", tok, "", "", 201, `"statusUrl":"/api/v1/dh/runs/web-`},
		{"200 status of own run", srv, "GET", "/api/v1/dh/runs/" + strictRun, strictTok, "", "", 200, `"phase":`},
		{"400 malformed JSON", srv, "POST", "/api/v1/dh", tok, js, `{"imageTag":`, 400, "malformed JSON body"},
		{"400 unknown parameter", srv, "POST", "/api/v1/dh", tok, js, `{"instanceEnvironmentVariables":[{"name":"NOPE","value":"1"}]}`, 400, `unknown parameter \"NOPE\"`},
		{"400 missing required", srv, "POST", "/api/v1/dh", strictTok, js, `{}`, 400, `missing required parameter \"REQ\"`},
		{"400 invalid tag", srv, "POST", "/api/v1/dh", tok, js, `{"imageTag":"a b"}`, 400, "tag"},
		{"404 unknown token", srv, "POST", "/api/v1/dh", "k3x9q2m7ab_" + strings.Repeat("B", 43), js, `{}`, 404, "hook not found"},
		{"404 wrong secret", srv, "POST", "/api/v1/dh", wrong, js, `{}`, 404, "hook not found"},
		{"404 deleted hook", srv, "POST", "/api/v1/dh", deletedTok, js, `{}`, 404, "hook not found"},
		{"404 no token", srv, "POST", "/api/v1/dh", "", js, `{}`, 404, "hook not found"},
		{"404 another job's run", srv, "GET", "/api/v1/dh/runs/" + strictRun, tok, "", "", 404, "run not found"},
		{"405 GET trigger", srv, "GET", "/api/v1/dh", tok, "", "", 405, "use POST"},
		{"405 DELETE run", srv, "DELETE", "/api/v1/dh/runs/" + strictRun, strictTok, "", "", 405, "use GET"},
		{"413 body over 64 KiB", srv, "POST", "/api/v1/dh", tok, js, `{"imageTag":"` + strings.Repeat("1", 64<<10) + `"}`, 413, "64 KiB"},
		{"415 not JSON", srv, "POST", "/api/v1/dh", tok, "text/plain", `{}`, 415, "application/json"},
		{"201 first of a limited hook", limited, "POST", "/api/v1/dh", limitedTok, js, `{}`, 201, `"run":`},
		{"429 over the limit", limited, "POST", "/api/v1/dh", limitedTok, js, `{}`, 429, "rate limit"},
		{"500 unreadable job", srv, "POST", "/api/v1/dh", brokenTok, js, `{}`, 500, "internal error"},
		{"503 API server unreachable", unreachable, "POST", "/api/v1/dh", tok, js, `{}`, 503, "retry later"},
	}
	for _, r := range rows {
		code, body, err := hookCall(r.method, r.srv.URL+r.path, r.token, r.ct, r.body)
		if err != nil || code != r.code || !strings.Contains(body, r.want) {
			t.Errorf("%s: %d %s (err %v), want %d with %q", r.name, code, tail(body, 300), err, r.code, r.want)
		}
	}
	if runs := runJobs(t, ns, "web"); len(runs) != 4 {
		t.Errorf("%d runs of web, want 4 (3 from srv, 1 from the limited server): %v", len(runs), runs)
	}
	for _, s := range []*hookServer{srv, limited, unreachable} {
		for _, token := range []string{tok, wrong, deletedTok, limitedTok} {
			if _, secret, _ := strings.Cut(token, "_"); strings.Contains(s.logs.String(), secret) {
				t.Fatal("a token is in the server log")
			}
		}
	}
}

func TestHookDeletedIsRejectedByEveryReplicaWithin2s(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "deploy")
	id, token := createHook(t, ns, "deploy", "soon gone")
	replicas := []*hookServer{startHookServer(t, "-n", ns), startHookServer(t, "-n", ns)}
	code, body, err := hookCall(http.MethodPost, replicas[0].URL+"/api/v1/dh", token, "application/json", `{}`)
	if err != nil || code != 201 {
		t.Fatalf("trigger: %d %s %v", code, body, err)
	}
	statusPath := "/api/v1/dh/runs/" + decodeTriggered(t, body).Run
	for _, s := range replicas {
		if code, body, _ := hookCall(http.MethodGet, s.URL+statusPath, token, "", ""); code != 200 {
			t.Fatalf("status before delete: %d %s", code, body)
		}
	}
	mustShipjob(t, "hook", "delete", id, "-n", ns)
	deleted := time.Now()
	for i, s := range replicas {
		code := 0
		poll(t, 2*time.Second-time.Since(deleted), 20*time.Millisecond, fmt.Sprintf("replica %d to reject the deleted hook", i), func() bool {
			code, _, _ = hookCall(http.MethodGet, s.URL+statusPath, token, "", "")
			return code == 404
		}, func() string {
			return fmt.Sprintf("%d, %s after the delete", code, time.Since(deleted).Round(time.Millisecond))
		})
		t.Logf("replica %d rejects the deleted hook %s after the delete returned", i, time.Since(deleted).Round(time.Millisecond))
	}
}

func TestHookCIPollsRunToItsExitCode(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "tests", "--env", "SIM_DURATION=2s", "--param", "SIM_EXIT_CODE=0")
	_, token := createHook(t, ns, "tests", "CI")
	srv := startHookServer(t, "-n", ns)
	for _, exit := range []int{3, 0} {
		body := `{"instanceEnvironmentVariables":[{"name":"SIM_EXIT_CODE","value":"` + strconv.Itoa(exit) + `"}]}`
		code, out, err := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", token, "application/json", body)
		if err != nil || code != 201 {
			t.Fatalf("trigger: %d %s %v", code, out, err)
		}
		url := srv.URL + decodeTriggered(t, out).StatusURL // a path without --external-url
		var st struct {
			Phase    string
			Finished bool
			ExitCode *int
			Message  string
		}
		var phases []string
		eventually(t, time.Minute, "run finished", func() bool {
			code, out, err := hookCall(http.MethodGet, url, token, "", "")
			if err != nil || code != 200 || json.Unmarshal([]byte(out), &st) != nil {
				t.Fatalf("poll: %d %s %v", code, out, err)
			}
			if len(phases) == 0 || phases[len(phases)-1] != st.Phase {
				phases = append(phases, st.Phase)
			}
			return st.Finished
		})
		want := map[int]string{0: "Succeeded", 3: "Failed"}[exit]
		if st.Phase != want || st.ExitCode == nil || *st.ExitCode != exit {
			t.Fatalf("run ended %+v, want %s with exit code %d", st, want, exit)
		}
		t.Logf("exit %d: phases %v, %q", exit, phases, st.Message)
	}
}
