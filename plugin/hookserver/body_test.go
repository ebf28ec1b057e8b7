package hookserver

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
)

// hiddenLength hides a body's length, so the server must count.
type hiddenLength struct{ io.Reader }

func TestHookBodyLimitWithoutContentLength(t *testing.T) {
	f := newFixture(t, nil)
	body := `{"imageTag":"` + strings.Repeat("a", MaxBodyBytes) + `"}`
	req, _ := http.NewRequest(http.MethodPost, f.http.URL+hook.TriggerPath, hiddenLength{strings.NewReader(body)})
	req.Header.Set(hook.TokenHeader, f.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || req.ContentLength != 0 {
		t.Fatalf("chunked oversized body: %d (content length %d)", resp.StatusCode, req.ContentLength)
	}
}
