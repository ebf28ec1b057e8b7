package hook

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestHookNewTokenShape(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		id, token, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if !ValidID(id) {
			t.Fatalf("invalid id %q", id)
		}
		got, ok := ParseToken(token)
		if !ok || got != id {
			t.Fatalf("ParseToken(%q) = %q, %v; want %q", token, got, ok, id)
		}
		secret, _ := strings.CutPrefix(token, id+"_")
		raw, err := base64.RawURLEncoding.DecodeString(secret)
		if err != nil || len(raw)*8 < 256 {
			t.Fatalf("secret %q: %d bits, %v", secret, len(raw)*8, err)
		}
		if seen[token] || seen[id] {
			t.Fatalf("token or id repeated: %s", token)
		}
		seen[token], seen[id] = true, true
	}
}

func TestHookParseTokenRejects(t *testing.T) {
	_, good, _ := NewToken()
	id, secret, _ := strings.Cut(good, "_")
	for name, tok := range map[string]string{
		"empty":          "",
		"no separator":   id + secret,
		"short secret":   id + "_" + secret[1:],
		"long secret":    good + "A",
		"upper id":       strings.ToUpper(id) + "_" + secret,
		"short id":       id[1:] + "_" + secret + "A",
		"bad base64":     id + "_" + "!" + secret[1:],
		"padding":        id + "_" + secret[:42] + "=",
		"whitespace":     " " + good[1:],
		"id only":        id,
		"separator only": "_",
	} {
		if got, ok := ParseToken(tok); ok {
			t.Errorf("%s: ParseToken(%q) = %q, want rejection", name, tok, got)
		}
	}
}

func TestHookHashAndVerify(t *testing.T) {
	_, token, _ := NewToken()
	h := HashToken(token)
	if len(h) != 64 || strings.Contains(h, token) {
		t.Fatalf("hash %q", h)
	}
	if HashToken(token) != h {
		t.Fatal("hash is not deterministic")
	}
	if !Verify(token, h) {
		t.Fatal("Verify rejects the right token")
	}
	other := token[:len(token)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(token, "A")]
	for name, tc := range map[string][2]string{
		"other token":  {other, h},
		"empty stored": {token, ""},
		"broken hex":   {token, strings.Repeat("z", 64)},
		"short hash":   {token, h[:62]},
		"plain token":  {token, token},
	} {
		if Verify(tc[0], tc[1]) {
			t.Errorf("%s: Verify accepted", name)
		}
	}
}
