package notify

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The "slack" body: top-level "text" (what Mattermost and Rocket.Chat
// show, and Slack's notification text) and Block Kit "blocks" (what Slack
// shows). Every value taken from the event is untrusted and goes through
// esc: "&", "<" and ">" are Slack's control characters (a parameter value
// "<!channel>" would otherwise notify the whole channel). Values are
// clipped so that no text exceeds Slack's limits (3000 characters for a
// section, 2000 for a field), which would make Slack reject the message.

type slackBody struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type   string      `json:"type"`
	Text   *slackText  `json:"text,omitempty"`
	Fields []slackText `json:"fields,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func mrkdwn(s string) slackText { return slackText{Type: "mrkdwn", Text: s} }

func slackMessage(e Event) slackBody {
	icon := outcomeIcon(e.Outcome)
	dur := humanDuration(e.Duration)
	link := statusLink(e.StatusURL)

	// One line: the message's own line breaks become spaces.
	var text strings.Builder
	text.WriteString(icon + " job " + esc(e.Job, 200) + " run " + esc(e.Run, 200) + " " + esc(string(e.Outcome), 50))
	if dur != "" {
		text.WriteString(" in " + dur)
	}
	if e.Message != "" {
		text.WriteString(": " + esc(strings.Join(strings.Fields(e.Message), " "), 500))
	}
	text.WriteString(" (namespace " + esc(e.Namespace, 200) + ")")
	if link != "" {
		text.WriteString(" " + link)
	}

	head := icon + " Run *" + esc(e.Run, 200) + "* of job *" + esc(e.Job, 200) + "* " + esc(string(e.Outcome), 50)
	if e.Message != "" {
		head += "\n" + esc(e.Message, 1500)
	}
	if link != "" {
		head += "\n" + link
	}
	exit := ""
	if e.ExitCode != nil {
		exit = strconv.Itoa(int(*e.ExitCode))
	}
	var fields []slackText
	for _, f := range [][2]string{
		{"Job", e.Job}, {"Run", e.Run}, {"Namespace", e.Namespace}, {"Outcome", string(e.Outcome)},
		{"Exit code", exit}, {"Duration", dur}, {"Image", e.Image}, {"Triggered by", e.TriggeredBy},
	} {
		v := esc(f[1], 1900)
		if v == "" {
			v = "–"
		}
		fields = append(fields, mrkdwn("*"+f[0]+"*\n"+v))
	}
	headText := mrkdwn(head)
	blocks := []slackBlock{{Type: "section", Text: &headText, Fields: fields}}

	if len(e.Parameters) > 0 {
		var lines strings.Builder
		for _, k := range slices.Sorted(maps.Keys(e.Parameters)) {
			lines.WriteString(k + "=" + e.Parameters[k] + "\n")
		}
		params := mrkdwn("*Parameters*\n" + esc(strings.TrimSuffix(lines.String(), "\n"), 2800))
		blocks = append(blocks, slackBlock{Type: "section", Text: &params})
	}
	return slackBody{Text: text.String(), Blocks: blocks}
}

// esc escapes Slack's control characters in s and clips the result to at
// most max bytes, ending it with "…" when clipped (never inside a
// character or an escape).
func esc(s string, max int) string {
	out := escaper.Replace(strings.ToValidUTF8(s, "\uFFFD"))
	if len(out) <= max {
		return out
	}
	cut := runeCut(out, max-len("…"))
	// Every "&" of out starts an escape: back off if cut is inside one.
	if amp := strings.LastIndexByte(out[:cut], '&'); amp >= 0 && !strings.Contains(out[amp:cut], ";") {
		cut = amp
	}
	return out[:cut] + "…"
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// statusLink is a Slack link to u, or "" when u is empty or too long to
// fit (a clipped URL would be a wrong link).
func statusLink(u string) string {
	if u == "" || len(u) > 1000 {
		return ""
	}
	return "<" + escaper.Replace(strings.ReplaceAll(u, "|", "%7C")) + "|status>"
}

func outcomeIcon(o string) string {
	switch o {
	case "succeeded":
		return "✅"
	case "failed":
		return "❌"
	case "cancelled":
		return "🚫"
	}
	return "❔"
}

// humanDuration writes seconds like "1m3s" ("" when unknown).
func humanDuration(sec float64) string {
	if !(sec > 0) || sec > 1e9 || math.IsInf(sec, 0) {
		return ""
	}
	d := time.Duration(sec * float64(time.Second))
	if d >= time.Second {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Millisecond).String()
}
