package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Signatures (review N9). Each webhook of a job has a key of its own,
// derived from the job's signing secret and the webhook's URL as written in
// the definition:
//
//	key       = HMAC-SHA256(secret, "shipjob-webhook:" + url)
//	signed    = "v1:" + X-Shipjob-Timestamp + "." + X-Shipjob-Delivery + "." + body
//	signature = "v1=" + hex(HMAC-SHA256(key, signed))
//
// X-Shipjob-Timestamp is the try's time in Unix seconds; X-Shipjob-Signature-256
// holds one signature, or two separated by a comma while a rotated secret's
// grace period lasts (the new one first). A receiver that knows the job's
// secret and its own URL checks that one signature matches (in constant
// time), that the timestamp is within its tolerance (5 minutes), and drops
// delivery ids it has seen. A delivery captured by one receiver does not
// verify at another (another key), nor later than the tolerance.

// HeaderTimestamp carries the Unix time (seconds) a try was signed at.
const HeaderTimestamp = "X-Shipjob-Timestamp"

// DefaultTolerance is how far a timestamp may be from the receiver's clock.
const DefaultTolerance = 5 * time.Minute

const signatureVersion = "v1"

// WebhookKey is the key the deliveries to target are signed with.
func WebhookKey(secret []byte, target string) []byte {
	return mac(secret, []byte("shipjob-webhook:"+target))
}

// Sign returns one signature ("v1=<hex>") of a delivery to target.
func Sign(secret []byte, target string, ts time.Time, deliveryID string, body []byte) string {
	return signatureVersion + "=" + hex.EncodeToString(mac(WebhookKey(secret, target), signedString(ts.Unix(), deliveryID, body)))
}

// SignatureHeader is the HeaderSignature value: a signature under each
// secret (the current one first), comma-separated.
func SignatureHeader(secrets [][]byte, target string, ts time.Time, deliveryID string, body []byte) string {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		sigs = append(sigs, Sign(s, target, ts, deliveryID, body))
	}
	return strings.Join(sigs, ",")
}

func signedString(ts int64, deliveryID string, body []byte) []byte {
	b := make([]byte, 0, len(body)+len(deliveryID)+32)
	b = append(b, signatureVersion+":"...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, '.')
	b = append(b, deliveryID...)
	b = append(b, '.')
	return append(b, body...)
}

// Verify checks a delivery a receiver at target got: one signature of h's
// HeaderSignature is the delivery's under secret, and h's HeaderTimestamp
// is within tolerance of now (DefaultTolerance when tolerance <= 0). It
// fails for an empty secret, which anyone could sign with.
func Verify(secret []byte, target string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return errors.New("no secret to verify with")
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	tsText, id := h.Get(HeaderTimestamp), h.Get(HeaderDelivery)
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil || id == "" {
		return fmt.Errorf("missing or invalid %s or %s", HeaderTimestamp, HeaderDelivery)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("timestamp %s is %s from now, more than the tolerance %s", tsText, d.Round(time.Second), tolerance)
	}
	want := mac(WebhookKey(secret, target), signedString(ts, id, body))
	ok := false
	for _, sig := range strings.Split(h.Get(HeaderSignature), ",") {
		hexSum, found := strings.CutPrefix(strings.TrimSpace(sig), signatureVersion+"=")
		got, err := hex.DecodeString(hexSum)
		if found && err == nil && hmac.Equal(got, want) {
			ok = true // no early return: the time taken does not say which one matched
		}
	}
	if !ok {
		return errors.New("no valid signature")
	}
	return nil
}

func mac(secret, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(body)
	return h.Sum(nil)
}
