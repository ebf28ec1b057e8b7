package notify

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// headersOf are the headers a delivery carries.
func headersOf(sig string, ts time.Time, id string) http.Header {
	h := http.Header{}
	h.Set(HeaderSignature, sig)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderDelivery, id)
	return h
}

// TestNotifySign: the documented scheme, checked against openssl (the
// README's receiver example computes the same).
func TestNotifySign(t *testing.T) {
	secret, target, ts, id, body := []byte("whsec_test"), "https://ci.example.com/hook", time.Unix(1765000000, 0), "uid-0", []byte(`{"run":"x"}`)
	// SECRET=whsec_test URL=https://ci.example.com/hook
	// KEY=$(printf %s "shipjob-webhook:$URL" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
	// printf %s 'v1:1765000000.uid-0.{"run":"x"}' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$KEY -r
	if got, want := Sign(secret, target, ts, id, body), "v1=0af213e1578500cb42224ce1c25826a0b1d604ded160876a664f08214924b0ea"; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

// TestNotifyVerify: a delivery verifies at its receiver within the
// tolerance; a replay later than that, one with a future timestamp, one
// captured at another receiver of the same job, or any changed part does
// not (review N9).
func TestNotifyVerify(t *testing.T) {
	secret, a, b := []byte("whsec_a"), "https://a.example.com/hook", "https://b.example.com/hook"
	body, id := []byte(`{"run":"migrate-1"}`), "uid-0"
	sent := time.Unix(1765000000, 0)
	sig := Sign(secret, a, sent, id, body)
	h := headersOf(sig, sent, id)
	if err := Verify(secret, a, h, body, sent.Add(4*time.Minute), 0); err != nil {
		t.Fatalf("a delivery 4 minutes old does not verify: %v", err)
	}
	flip := func(b []byte, i int) []byte {
		c := append([]byte(nil), b...)
		c[i] ^= 1
		return c
	}
	for name, c := range map[string]struct {
		secret []byte
		target string
		h      http.Header
		body   []byte
		now    time.Time
		want   string
	}{
		"replayed 6 minutes later":     {secret, a, h, body, sent.Add(6 * time.Minute), "tolerance"},
		"replayed days later":          {secret, a, h, body, sent.Add(72 * time.Hour), "tolerance"},
		"timestamp 6 minutes ahead":    {secret, a, h, body, sent.Add(-6 * time.Minute), "tolerance"},
		"captured at A, sent to B":     {secret, b, h, body, sent, "no valid signature"},
		"timestamp moved":              {secret, a, headersOf(sig, sent.Add(time.Second), id), body, sent, "no valid signature"},
		"other delivery id":            {secret, a, headersOf(sig, sent, "uid-1"), body, sent, "no valid signature"},
		"body changed":                 {secret, a, h, flip(body, 3), sent, "no valid signature"},
		"secret changed":               {flip(secret, 0), a, h, body, sent, "no valid signature"},
		"no timestamp":                 {secret, a, http.Header{HeaderSignature: {sig}, HeaderDelivery: {id}}, body, sent, "X-Shipjob-Timestamp"},
		"no delivery id":               {secret, a, http.Header{HeaderSignature: {sig}, HeaderTimestamp: {"1765000000"}}, body, sent, "X-Shipjob-Delivery"},
		"old scheme (body only)":       {secret, a, headersOf("sha256="+strings.TrimPrefix(sig, "v1="), sent, id), body, sent, "no valid signature"},
		"truncated":                    {secret, a, headersOf(sig[:len(sig)-2], sent, id), body, sent, "no valid signature"},
		"empty secret":                 {nil, a, headersOf(Sign(nil, a, sent, id, body), sent, id), body, sent, "no secret"},
		"signature of the old secret":  {secret, a, headersOf(Sign([]byte("whsec_old"), a, sent, id, body), sent, id), body, sent, "no valid signature"},
		"signature list without match": {secret, a, headersOf("v1=00,v1=zz", sent, id), body, sent, "no valid signature"},
	} {
		err := Verify(c.secret, c.target, c.h, c.body, c.now, 5*time.Minute)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
	}
	// Rotation: both signatures are sent; either secret verifies.
	both := SignatureHeader([][]byte{[]byte("whsec_new"), []byte("whsec_old")}, a, sent, id, body)
	for _, s := range []string{"whsec_new", "whsec_old"} {
		if err := Verify([]byte(s), a, headersOf(both, sent, id), body, sent, 0); err != nil {
			t.Errorf("%s does not verify %s: %v", s, both, err)
		}
	}
}
