package notify

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func sampleEvent() Event {
	code := int32(0)
	cet := time.FixedZone("CET", 3600)
	return Event{
		Job: "migrate", Run: "migrate-abc12", Namespace: "ns", Outcome: "succeeded", ExitCode: &code,
		StartedAt:  time.Date(2026, 3, 1, 11, 0, 0, 0, cet),
		FinishedAt: time.Date(2026, 3, 1, 11, 1, 3, 500_000_000, cet),
		Duration:   63.5, Parameters: map[string]string{"target": "v42", "token": "***"},
		Image: "registry.example/app:1.2", TriggeredBy: "hook ci", StatusURL: "https://ship.example/runs/ns/migrate-abc12",
		DeliveryID: "migrate-abc12.ops",
	}
}

func TestNotifyJSONBody(t *testing.T) {
	e := sampleEvent()
	body, ct, err := Body("", e)
	if err != nil || ct != "application/json" {
		t.Fatalf("Body: %q, %v", ct, err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"deliveryId", "durationSeconds", "exitCode", "finishedAt", "image", "job", "message", "namespace",
		"outcome", "parameters", "run", "startedAt", "statusUrl", "triggeredBy", "version"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if m["version"] != 1.0 || m["startedAt"] != "2026-03-01T10:00:00Z" || m["finishedAt"] != "2026-03-01T10:01:03.5Z" ||
		m["durationSeconds"] != 63.5 || m["exitCode"] != 0.0 {
		t.Errorf("version, times, duration, exit code: %s", body)
	}

	var got Event
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if !got.StartedAt.Equal(e.StartedAt) || !got.FinishedAt.Equal(e.FinishedAt) {
		t.Errorf("times: %v %v", got.StartedAt, got.FinishedAt)
	}
	got.StartedAt, got.FinishedAt, e.StartedAt, e.FinishedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, e) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, e)
	}
}

func TestNotifyJSONBodyUnknowns(t *testing.T) {
	body, _, err := Body("json", Event{Job: "j", Outcome: "failed"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"exitCode":null`, `"startedAt":null`, `"finishedAt":null`, `"parameters":{}`, `"statusUrl":""`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("%s lacks %s", body, want)
		}
	}
	if _, _, err := Body("xml", Event{}); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("format xml: %v", err)
	}
}

type slackDecoded struct {
	Text   string `json:"text"`
	Blocks []struct {
		Type string `json:"type"`
		Text *struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"text"`
		Fields []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"fields"`
	} `json:"blocks"`
}

func decodeSlack(t *testing.T, e Event) (slackDecoded, []string) {
	t.Helper()
	body, ct, err := Body("slack", e)
	if err != nil || ct != "application/json" {
		t.Fatalf("Body: %q, %v", ct, err)
	}
	var s slackDecoded
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	texts := []string{s.Text}
	for _, b := range s.Blocks {
		if b.Type != "section" || b.Text == nil || b.Text.Type != "mrkdwn" {
			t.Errorf("block %+v", b)
		}
		if b.Text != nil {
			texts = append(texts, b.Text.Text)
		}
		for _, f := range b.Fields {
			if f.Type != "mrkdwn" || f.Text == "" {
				t.Errorf("field %+v", f)
			}
			texts = append(texts, f.Text)
		}
	}
	return s, texts
}

func TestNotifySlackBody(t *testing.T) {
	s, _ := decodeSlack(t, sampleEvent())
	if want := "✅ job migrate run migrate-abc12 succeeded in 1m4s (namespace ns) <https://ship.example/runs/ns/migrate-abc12|status>"; s.Text != want {
		t.Errorf("text\n%q\nwant\n%q", s.Text, want)
	}
	if len(s.Blocks) != 2 {
		t.Fatalf("blocks: %+v", s.Blocks)
	}
	if !strings.Contains(s.Blocks[0].Text.Text, "<https://ship.example/runs/ns/migrate-abc12|status>") {
		t.Errorf("no status link: %q", s.Blocks[0].Text.Text)
	}
	var fields []string
	for _, f := range s.Blocks[0].Fields {
		fields = append(fields, f.Text)
	}
	want := []string{"*Job*\nmigrate", "*Run*\nmigrate-abc12", "*Namespace*\nns", "*Outcome*\nsucceeded", "*Exit code*\n0",
		"*Duration*\n1m4s", "*Image*\nregistry.example/app:1.2", "*Triggered by*\nhook ci"}
	if !slices.Equal(fields, want) {
		t.Errorf("fields\n%q\nwant\n%q", fields, want)
	}
	if got := s.Blocks[1].Text.Text; got != "*Parameters*\ntarget=v42\ntoken=***" {
		t.Errorf("parameters %q", got)
	}

	code := int32(3)
	s, _ = decodeSlack(t, Event{Job: "migrate", Run: "migrate-abc12", Namespace: "ns", Outcome: "failed", ExitCode: &code,
		Message: "exit code 3", Duration: 5})
	if want := "❌ job migrate run migrate-abc12 failed in 5s: exit code 3 (namespace ns)"; s.Text != want {
		t.Errorf("text %q, want %q", s.Text, want)
	}
	if len(s.Blocks) != 1 || !strings.Contains(s.Blocks[0].Text.Text, "\nexit code 3") || s.Blocks[0].Fields[6].Text != "*Image*\n–" {
		t.Errorf("failed run blocks: %+v", s.Blocks)
	}
}

func TestNotifySlackEscapes(t *testing.T) {
	e := sampleEvent()
	e.Job = "a&b"
	e.Message = "<!here> broke\nit"
	e.TriggeredBy = "<@U123>"
	e.Image = "x>y"
	e.Parameters = map[string]string{"note": "<!channel> & <https://evil.example|click>"}
	e.StatusURL = "https://ship.example/s?a=1&b=2|x>"
	s, texts := decodeSlack(t, e)
	for _, text := range texts {
		for _, bad := range []string{"<!", "<@", "<https://evil", "x>y", "a&b"} {
			if strings.Contains(text, bad) {
				t.Errorf("%q holds %q unescaped", text, bad)
			}
		}
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{
		"&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;", "&lt;!here&gt; broke it", "*Triggered by*\n&lt;@U123&gt;",
		"a&amp;b", "x&gt;y", "<https://ship.example/s?a=1&amp;b=2%7Cx&gt;|status>",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q in\n%s", want, all)
		}
	}
	if strings.Contains(s.Text, "\n") {
		t.Errorf("text is not one line: %q", s.Text)
	}
}

func TestNotifySlackClips(t *testing.T) {
	e := sampleEvent()
	e.Message = strings.Repeat("<é", 5000)
	e.Image = strings.Repeat("&", 5000)
	e.Parameters = map[string]string{"p": strings.Repeat(">", 5000)}
	s, texts := decodeSlack(t, e)
	for i, text := range texts {
		if limit := 3000; len(text) > limit || !utf8.ValidString(text) {
			t.Errorf("text %d: %d bytes", i, len(text))
		}
		if strings.Contains(text, "…") && cutsEscape(text) {
			t.Errorf("text %d cuts an escape: %q", i, text[max(0, strings.Index(text, "…")-8):])
		}
	}
	for _, f := range s.Blocks[0].Fields {
		if len(f.Text) > 2000 {
			t.Errorf("field %d bytes", len(f.Text))
		}
	}
	if !strings.HasSuffix(s.Blocks[1].Text.Text, "…") {
		t.Error("parameters not clipped")
	}
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"a<b", 6, "a&lt;b"}, {"a<bc", 6, "a…"}, {"ééé", 5, "é…"}, {"abcd", 4, "abcd"}, {"abcde", 4, "a…"}, {"a&b", 9, "a&amp;b"},
	} {
		if got := esc(c.in, c.max); got != c.want || len(got) > c.max {
			t.Errorf("esc(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

// cutsEscape reports whether a "…" follows a partial escape such as "&l".
func cutsEscape(s string) bool {
	for rest := s; ; {
		i := strings.Index(rest, "…")
		if i < 0 {
			return false
		}
		if amp := strings.LastIndexByte(rest[:i], '&'); amp >= 0 && !strings.Contains(rest[amp:i], ";") {
			return true
		}
		rest = rest[i+len("…"):]
	}
}

func ExampleBody() {
	code := int32(3)
	body, _, _ := Body("json", Event{
		Job: "migrate", Run: "migrate-abc12", Namespace: "shop", Outcome: "failed", ExitCode: &code, Message: "exit code 3",
		StartedAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), FinishedAt: time.Date(2026, 3, 1, 10, 1, 3, 0, time.UTC),
		Duration: 63, Parameters: map[string]string{"target": "v42"}, Image: "registry.example/app:1.2",
		TriggeredBy: "hook ci", DeliveryID: "migrate-abc12.ops",
	})
	fmt.Println(string(body))
	// Output:
	// {"version":1,"job":"migrate","run":"migrate-abc12","namespace":"shop","outcome":"failed","exitCode":3,"message":"exit code 3","startedAt":"2026-03-01T10:00:00Z","finishedAt":"2026-03-01T10:01:03Z","durationSeconds":63,"parameters":{"target":"v42"},"image":"registry.example/app:1.2","triggeredBy":"hook ci","statusUrl":"","deliveryId":"migrate-abc12.ops"}
}

func TestNotifyJSONBodyBadDuration(t *testing.T) {
	for _, d := range []float64{math.NaN(), math.Inf(1)} {
		if body, _, err := Body("json", Event{Duration: d}); err != nil || !strings.Contains(string(body), `"durationSeconds":0`) {
			t.Errorf("duration %v: %s, %v", d, body, err)
		}
		if _, _, err := Body("slack", Event{Duration: d}); err != nil {
			t.Errorf("slack, duration %v: %v", d, err)
		}
	}
}
