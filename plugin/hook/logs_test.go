package hook

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

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
	f := newFixture(t, func(c *Config) {
		c.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	f.do(t, http.MethodPost, TriggerPath, f.token, `{}`, "Content-Type", "application/json", "X-Request-Id", "ci-build-42")
	f.post(t, f.token+"x", `{}`)
	f.do(t, http.MethodGet, RunsPath+"migrate-0abcdefgh1?token="+f.token, f.token, "")
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

// hiddenLength hides a body's length, so the server must count.
type hiddenLength struct{ io.Reader }

func TestHookBodyLimitWithoutContentLength(t *testing.T) {
	f := newFixture(t, nil)
	body := `{"imageTag":"` + strings.Repeat("a", MaxBodyBytes) + `"}`
	req, _ := http.NewRequest(http.MethodPost, f.http.URL+TriggerPath, hiddenLength{strings.NewReader(body)})
	req.Header.Set(TokenHeader, f.token)
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
