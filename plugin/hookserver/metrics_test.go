package hookserver

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestHookMetrics(t *testing.T) {
	f := newFixture(t, nil)
	f.post(t, f.token, `{}`)
	f.post(t, "nope", `{}`)
	resp, err := http.Get(f.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`shipjob_hooks_http_requests_total{code="201",handler="trigger"} 1`,
		`shipjob_hooks_http_requests_total{code="404",handler="trigger"} 1`,
		`shipjob_hooks_triggers_total{code="201",job="migrate",namespace="team"} 1`,
		`shipjob_hooks_trigger_duration_seconds_count{outcome="created"} 1`,
		`shipjob_hooks_known 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(string(data), f.token) {
		t.Fatal("token in metrics")
	}
}
