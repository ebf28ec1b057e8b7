package hookserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
)

func TestHookTriggerAnswers(t *testing.T) {
	f := newFixture(t, nil)
	id, secret, _ := strings.Cut(f.token, "_")
	_, other, _ := hook.NewToken()
	wrongSecret := id + "_" + secret[:len(secret)-2] + map[bool]string{true: "AA", false: "BB"}[strings.HasSuffix(secret, "BB")]
	for name, tc := range map[string]struct {
		method, token, ctype, body string
		code                       int
		msg                        string
		params                     map[string]string
		tag                        string
	}{
		"shipmight job call": {token: f.token, ctype: "application/json", body: `{"instanceEnvironmentVariables":[{"name":"EXAMPLE_VAR","value":"example"}]}`,
			code: 201, params: map[string]string{"EXAMPLE_VAR": "example"}},
		"shipmight app call": {token: f.token, ctype: "application/json", body: `{"imageTag":"1.2.0"}`, code: 201, tag: "1.2.0", params: map[string]string{}},
		"empty body":         {token: f.token, code: 201, params: map[string]string{}},
		"charset":            {token: f.token, ctype: "application/json; charset=utf-8", body: `{}`, code: 201, params: map[string]string{}},
		"unknown parameter":  {token: f.token, ctype: "application/json", body: `{"instanceEnvironmentVariables":[{"name":"NOPE","value":"1"}]}`, code: 400, msg: `unknown parameter "NOPE"`},
		"missing required":   {token: f.strictToken, ctype: "application/json", body: `{}`, code: 400, msg: `missing required parameter "REQ"`},
		"bad tag":            {token: f.token, ctype: "application/json", body: `{"imageTag":"no spaces"}`, code: 400, msg: "no spaces"},
		"malformed":          {token: f.token, ctype: "application/json", body: `{"imageTag":`, code: 400, msg: "malformed JSON body"},
		"L1 upper-case key":  {token: f.token, ctype: "application/json", body: `{"IMAGETAG":"1"}`, code: 400, msg: `unknown field "IMAGETAG"`},
		"L1 duplicate key":   {token: f.token, ctype: "application/json", body: `{"imageTag":"good","imageTag":"evil"}`, code: 400, msg: `duplicate field "imageTag"`},
		"L1 duplicate name":  {token: f.token, ctype: "application/json", body: `{"instanceEnvironmentVariables":[{"name":"EXAMPLE_VAR","name":"X","value":"1"}]}`, code: 400, msg: `duplicate field "name"`},
		"L1 null body":       {token: f.token, ctype: "application/json", body: `null`, code: 400, msg: "not null"},
		"L1 null required":   {token: f.strictToken, ctype: "application/json", body: `{"instanceEnvironmentVariables":[{"name":"REQ","value":null}]}`, code: 400, msg: "instanceEnvironmentVariables[0].value must be a string, not null"},
		"L1 empty required":  {token: f.strictToken, ctype: "application/json", body: `{"instanceEnvironmentVariables":[{"name":"REQ","value":""}]}`, code: 400, msg: `required parameter "REQ" for job strict needs a value`},
		"L1 NUL in value":    {token: f.token, ctype: "application/json", body: `{"instanceEnvironmentVariables":[{"name":"EXAMPLE_VAR","value":"a\u0000"}]}`, code: 400, msg: "control character U+0000"},
		"wrong secret":       {token: wrongSecret, ctype: "application/json", body: `{}`, code: 404, msg: "hook not found"},
		"unknown hook":       {token: other, ctype: "application/json", body: `{}`, code: 404, msg: "hook not found"},
		"garbage token":      {token: "hunter2", ctype: "application/json", body: `{}`, code: 404, msg: "hook not found"},
		"no token":           {ctype: "application/json", body: `{}`, code: 404, msg: "hook not found"},
		"GET":                {method: http.MethodGet, token: f.token, code: 405, msg: "use POST"},
		"PUT":                {method: http.MethodPut, token: f.token, ctype: "application/json", body: `{}`, code: 405, msg: "use POST"},
		"text body":          {token: f.token, ctype: "text/plain", body: `{}`, code: 415, msg: "application/json"},
		"form body":          {token: f.token, ctype: "application/x-www-form-urlencoded", body: `a=b`, code: 415},
		"no type with body":  {token: f.token, body: `{}`, code: 415},
		"too large":          {token: f.token, ctype: "application/json", body: `{"imageTag":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, code: 413, msg: "64 KiB"},
		"just under limit":   {token: f.token, ctype: "application/json", body: `{"imageTag":"1"}` + strings.Repeat(" ", MaxBodyBytes-16), code: 201, tag: "1", params: map[string]string{}},
	} {
		t.Run(name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			_, before := f.trig.last()
			var headers []string
			if tc.ctype != "" {
				headers = []string{"Content-Type", tc.ctype}
			}
			a := f.do(t, method, hook.TriggerPath, tc.token, tc.body, headers...)
			if a.code != tc.code {
				t.Fatalf("code %d, want %d: %s", a.code, tc.code, a.body)
			}
			if a.header.Get("X-Request-Id") == "" || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
				t.Fatalf("headers %v", a.header)
			}
			req, after := f.trig.last()
			if tc.code != 201 {
				var e ErrorBody
				a.json(t, &e)
				if e.Code != tc.code || !strings.Contains(e.Message, tc.msg) || e.RequestID == "" {
					t.Fatalf("error body %+v, want message with %q", e, tc.msg)
				}
				if after != before {
					t.Fatal("a rejected request triggered a run")
				}
				if tc.code == 405 && a.header.Get("Allow") != "POST" {
					t.Fatalf("Allow = %q", a.header.Get("Allow"))
				}
				return
			}
			var got Triggered
			a.json(t, &got)
			if got.Run == "" || got.Job != req.Job || got.Namespace != testNS || got.StatusURL != hook.RunsPath+got.Run {
				t.Fatalf("answer %+v", got)
			}
			if after != before+1 || req.Tag != tc.tag || len(req.Params) != len(tc.params) || !strings.HasPrefix(req.TriggeredBy, "hook:") {
				t.Fatalf("trigger request %+v, want params %v tag %q", req, tc.params, tc.tag)
			}
			for k, v := range tc.params {
				if req.Params[k] != v {
					t.Fatalf("param %s = %q, want %q", k, req.Params[k], v)
				}
			}
		})
	}
}

func TestHookNotFoundAnswersAreIndistinguishable(t *testing.T) {
	f := newFixture(t, nil)
	id, _, _ := strings.Cut(f.token, "_")
	_, unknown, _ := hook.NewToken()
	_, wrong, _ := hook.NewToken()
	wrong = id + wrong[hook.IDLength:]
	var bodies []string
	for _, tok := range []string{unknown, wrong, "x", ""} {
		a := f.post(t, tok, `{}`)
		var e ErrorBody
		a.json(t, &e)
		e.RequestID = ""
		bodies = append(bodies, e.Message+"|"+a.header.Get("Content-Type")+"|"+http.StatusText(a.code))
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Fatalf("404 answers differ: %q", bodies)
		}
	}
}

func TestHookTriggerFailures(t *testing.T) {
	f := newFixture(t, nil)
	refused := &url.Error{Op: "Post", URL: "https://127.0.0.1:1/apis", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	for name, tc := range map[string]struct {
		err  error
		code int
	}{
		"API server down": {refused, 503},
		"lock wait ended": {context.DeadlineExceeded, 503},
		"anything else":   {errors.New("render chart: boom"), 500},
	} {
		f.trig.err = tc.err
		a := f.post(t, f.token, `{}`)
		if a.code != tc.code || strings.Contains(a.body, "boom") {
			t.Errorf("%s: %d %s, want %d without details", name, a.code, a.body, tc.code)
		}
	}
}

func TestHookRateLimit(t *testing.T) {
	f := newFixture(t, func(c *ServerConfig) { c.RateLimit, c.RateBurst = 0.5, 2 })
	for i, want := range []int{201, 201, 429} {
		if a := f.post(t, f.token, ``); a.code != want {
			t.Fatalf("request %d: %d, want %d: %s", i, a.code, want, a.body)
		} else if want == 429 && a.header.Get("Retry-After") != "2" {
			t.Fatalf("Retry-After = %q", a.header.Get("Retry-After"))
		}
	}
	// The limit is per hook: another hook is not affected.
	if a := f.post(t, f.strictToken, `{"instanceEnvironmentVariables":[{"name":"REQ","value":"1"}]}`); a.code != 201 {
		t.Fatalf("other hook: %d %s", a.code, a.body)
	}
}

func TestHookDeletedIsRejectedAtOnce(t *testing.T) {
	f := newFixture(t, nil)
	if a := f.post(t, f.token, ``); a.code != 201 {
		t.Fatalf("before delete: %d %s", a.code, a.body)
	}
	if err := (&hook.Store{Client: f.client, Namespace: testNS}).Delete(context.Background(), f.id); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for f.post(t, f.token, ``).code != 404 {
		if time.Since(start) > 2*time.Second {
			t.Fatal("deleted hook still accepted after 2s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHookStartsUnready(t *testing.T) {
	f := newFixture(t, func(c *ServerConfig) { c.Probe = func(context.Context) error { return errors.New("down") } })
	deadline := time.Now().Add(2 * time.Second)
	for {
		a := f.do(t, http.MethodGet, "/readyz", "", "")
		if a.code == 503 && strings.Contains(a.body, `"apiServer":false`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz %d %s", a.code, a.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if a := f.do(t, http.MethodGet, "/healthz", "", ""); a.code != 200 {
		t.Fatalf("healthz %d", a.code)
	}
	f.server.Drain()
	if a := f.do(t, http.MethodGet, "/readyz", "", ""); a.code != 503 || !strings.Contains(a.body, `"accepting":false`) {
		t.Fatalf("readyz while draining: %d %s", a.code, a.body)
	}
}

func TestHookTriggerConfirmsTheHookWithTheAPIServer(t *testing.T) {
	f := newFixture(t, nil)
	// The watch has not told this replica yet, but the hook is gone.
	f.client.PrependReactor("get", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.GetAction).GetName() == hook.SecretName(f.id) {
			return true, nil, apierrors.NewNotFound(corev1.Resource("secrets"), hook.SecretName(f.id))
		}
		return false, nil, nil
	})
	_, before := f.trig.last()
	if a := f.post(t, f.token, `{}`); a.code != 404 || !strings.Contains(a.body, "hook not found") {
		t.Fatalf("trigger with a hook deleted behind the cache: %d %s", a.code, a.body)
	}
	if _, after := f.trig.last(); after != before {
		t.Fatal("triggered anyway")
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestHookLogsAreJSONWithoutTokens(t *testing.T) {
	var logs syncBuffer
	f := newFixture(t, func(c *ServerConfig) {
		c.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	f.do(t, http.MethodPost, hook.TriggerPath, f.token, `{}`, "Content-Type", "application/json", "X-Request-Id", "ci-build-42")
	f.post(t, f.token+"x", `{}`)
	f.do(t, http.MethodGet, hook.RunsPath+"migrate-0abcdefgh1?token="+f.token, f.token, "")
	out := logs.String()
	_, secret, _ := strings.Cut(f.token, "_")
	if strings.Contains(out, secret) {
		t.Fatalf("a token was logged:\n%s", out)
	}
	var ids []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("not a JSON log line: %q", sc.Text())
		}
		if line["msg"] == "request" {
			ids = append(ids, line["request_id"].(string))
		}
	}
	if len(ids) != 3 || ids[0] != "ci-build-42" || ids[1] == "" || ids[1] == ids[2] {
		t.Fatalf("request ids %q in:\n%s", ids, out)
	}
}
