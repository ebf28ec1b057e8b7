package notify

import (
	"strings"
	"testing"
)

func TestNotifySign(t *testing.T) {
	secret, body := []byte("key"), []byte("The quick brown fox jumps over the lazy dog")
	sig := Sign(secret, body)
	// RFC 4231-style known answer (HMAC-SHA256 of the pangram under "key").
	if want := "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"; sig != want {
		t.Fatalf("Sign = %s, want %s", sig, want)
	}
	if !Verify(secret, body, sig) {
		t.Fatal("Verify rejects its own signature")
	}
	flip := func(b []byte, i int) []byte {
		c := append([]byte(nil), b...)
		c[i] ^= 1
		return c
	}
	for name, ok := range map[string]bool{
		"body changed":   Verify(secret, flip(body, 10), sig),
		"secret changed": Verify(flip(secret, 0), body, sig),
		"last byte":      Verify(secret, flip(body, len(body)-1), sig),
		"no prefix":      Verify(secret, body, strings.TrimPrefix(sig, "sha256=")),
		"sha1 prefix":    Verify(secret, body, "sha1="+strings.TrimPrefix(sig, "sha256=")),
		"truncated":      Verify(secret, body, sig[:len(sig)-2]),
		"not hex":        Verify(secret, body, sig[:len(sig)-1]+"g"),
		"empty":          Verify(secret, body, ""),
		"empty secret":   Verify(nil, body, Sign(nil, body)),
	} {
		if ok {
			t.Errorf("%s: verified", name)
		}
	}
}
