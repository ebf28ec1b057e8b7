package hookserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/helmrun"
	"github.com/shipjob/kubectl-shipjob/plugin/hook"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

const testNS = "team"

// fakeTriggerer is the real trigger in client dry-run mode over the
// fixture's fake clientset: it checks everything a trigger checks and
// writes nothing. It records the triggers that passed; it returns err
// instead when set.
type fakeTriggerer struct {
	mu     sync.Mutex
	reqs   []run.Request
	err    error
	client kubernetes.Interface
	// warnings are added to the result of each trigger.
	warnings []string
}

func (f *fakeTriggerer) Trigger(ctx context.Context, req run.Request) (*run.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		f.reqs = append(f.reqs, req)
		return nil, f.err
	}
	dry := req
	dry.DryRun = run.DryRunClient
	res, err := helmrun.New(run.EngineConfig{Client: f.client}).Trigger(ctx, dry)
	if err != nil {
		return nil, err
	}
	f.reqs = append(f.reqs, req)
	res.Warnings = append(res.Warnings, f.warnings...)
	return res, nil
}

func (f *fakeTriggerer) last() (run.Request, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		return run.Request{}, 0
	}
	return f.reqs[len(f.reqs)-1], len(f.reqs)
}

// fixture is a server over a fake clientset with job "migrate" (optional
// parameter EXAMPLE_VAR), job "strict" (required REQ) and one hook each.
type fixture struct {
	client      *fake.Clientset
	trig        *fakeTriggerer
	server      *Server
	http        *httptest.Server
	token       string // hook of migrate
	strictToken string
	id          string
}

func newFixture(t *testing.T, mutate func(*ServerConfig)) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cs := fake.NewClientset()
	for name, params := range map[string][]jobdef.Parameter{
		"migrate": {{Name: "EXAMPLE_VAR", Default: "x"}},
		"strict":  {{Name: "REQ", Required: true}},
	} {
		j := jobdef.New(testNS, name)
		j.Spec.Image, j.Spec.Parameters = "example.com/acme/sim", params
		sec, err := jobdef.ToSecret(j)
		if err != nil {
			t.Fatal(err)
		}
		sec.UID = types.UID("uid-" + name) // the fake clientset sets none
		if _, err := cs.CoreV1().Secrets(testNS).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	store := &hook.Store{Client: cs, Namespace: testNS}
	h, err := store.Create(ctx, "migrate", "CI on main", "user:test")
	if err != nil {
		t.Fatal(err)
	}
	strict, err := store.Create(ctx, "strict", "strict CI", "user:test")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{client: cs, trig: &fakeTriggerer{client: cs}, token: h.Token, strictToken: strict.Token, id: h.Name}
	cfg := ServerConfig{Client: cs, Triggerer: f.trig, Namespace: testNS, Probe: func(context.Context) error { return nil }}
	if mutate != nil {
		mutate(&cfg)
	}
	f.server = NewServer(cfg)
	f.server.Start(ctx)
	if !f.server.WaitForSync(ctx) {
		t.Fatal("hooks not synced")
	}
	f.http = httptest.NewServer(f.server.Handler())
	t.Cleanup(f.http.Close)
	return f
}

type answer struct {
	code   int
	header http.Header
	body   string
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(a.body), v); err != nil {
		t.Fatalf("answer %d is not JSON: %v: %s", a.code, err, a.body)
	}
}

// do sends one request; headers are name, value pairs.
func (f *fixture) do(t *testing.T, method, path, token, body string, headers ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, f.http.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set(hook.TokenHeader, token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
		if headers[i] == "Host" {
			req.Host = headers[i+1]
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return answer{code: resp.StatusCode, header: resp.Header, body: string(data)}
}

func (f *fixture) post(t *testing.T, token, body string) answer {
	t.Helper()
	return f.do(t, http.MethodPost, hook.TriggerPath, token, body, "Content-Type", "application/json")
}
