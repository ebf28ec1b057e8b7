package run

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// AnnotationSecretDigest records, on a run with secret parameters, a
// salted HMAC-SHA256 of their values: "v1:SALT:MAC" (base64url, a random
// 16-byte salt per run as the HMAC's key). An idempotency retry compares
// its own values with it (in constant time), as the recorded parameters
// only say <secret>.
const AnnotationSecretDigest = "shipjob.dev/secret-digest"

const secretDigestVersion = "v1"

// secretValues are the values of params (effective, in clear) of the
// parameters that are secret in def.
func secretValues(def *jobdef.Job, params map[string]string) map[string]string {
	out := map[string]string{}
	for _, p := range def.Spec.Parameters {
		if v, ok := params[p.Name]; ok && p.Secret {
			out[p.Name] = v
		}
	}
	return out
}

// secretDigest is the annotation value for secrets (secretValues), with a
// fresh random salt; "" when there are none.
func secretDigest(secrets map[string]string) (string, error) {
	if len(secrets) == 0 {
		return "", nil
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt of secret parameters' digest: %w", err)
	}
	mac, err := secretMAC(salt, secrets)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	return secretDigestVersion + ":" + enc.EncodeToString(salt) + ":" + enc.EncodeToString(mac), nil
}

// secretDigestMatches says whether secrets are the values recorded as
// digest (a run's annotation, untrusted). No secrets match only no
// digest; a digest that cannot be read matches nothing.
func secretDigestMatches(digest string, secrets map[string]string) bool {
	if len(secrets) == 0 || digest == "" {
		return len(secrets) == 0 && digest == ""
	}
	parts := strings.Split(digest, ":")
	if len(parts) != 3 || parts[0] != secretDigestVersion {
		return false
	}
	enc := base64.RawURLEncoding
	salt, err1 := enc.DecodeString(parts[1])
	want, err2 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(salt) < 16 || len(want) != sha256.Size {
		return false
	}
	got, err := secretMAC(salt, secrets)
	return err == nil && hmac.Equal(got, want)
}

// secretMAC is HMAC-SHA256 keyed by salt of the values by name (JSON with
// sorted keys: unambiguous).
func secretMAC(salt []byte, secrets map[string]string) ([]byte, error) {
	msg, err := json.Marshal(secrets)
	if err != nil {
		return nil, fmt.Errorf("encode secret parameters' digest: %w", err)
	}
	m := hmac.New(sha256.New, salt)
	m.Write(msg)
	return m.Sum(nil), nil
}
