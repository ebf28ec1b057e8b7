package hook

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// Tokens are "<id>_<secret>": the id (IDLength characters of [a-z0-9])
// names the hook's Secret, so a server finds the hook without scanning; the
// secret is 32 bytes from crypto/rand (256 bits), base64url without
// padding. Only the SHA-256 of the whole token is stored. A slow KDF adds
// nothing for 256-bit random secrets: they cannot be guessed.
const (
	IDLength     = 10
	secretBytes  = 32
	secretLength = 43 // base64.RawURLEncoding of 32 bytes
	idAlphabet   = "abcdefghijklmnopqrstuvwxyz0123456789"
	// MaxTokenLength bounds what is hashed for a request header.
	MaxTokenLength = IDLength + 1 + secretLength
)

// NewToken returns a fresh hook id and token.
func NewToken() (id, token string, err error) {
	if id, err = newID(); err != nil {
		return "", "", err
	}
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("generate hook token: %w", err)
	}
	return id, id + "_" + base64.RawURLEncoding.EncodeToString(b), nil
}

func newID() (string, error) {
	// 252 = 7*36: rejecting bytes from 252 on keeps every character
	// equally likely.
	out := make([]byte, 0, IDLength)
	buf := make([]byte, 2*IDLength)
	for len(out) < IDLength {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("generate hook id: %w", err)
		}
		for _, c := range buf {
			if c < 252 && len(out) < IDLength {
				out = append(out, idAlphabet[int(c)%len(idAlphabet)])
			}
		}
	}
	return string(out), nil
}

// ValidID reports whether id has the form of a hook id.
func ValidID(id string) bool {
	if len(id) != IDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !strings.ContainsRune(idAlphabet, rune(id[i])) {
			return false
		}
	}
	return true
}

// ParseToken returns the hook id a token names, or false when the token
// does not have the form of one.
func ParseToken(token string) (id string, ok bool) {
	if len(token) != MaxTokenLength {
		return "", false
	}
	id, secret, found := strings.Cut(token, "_")
	if !found || !ValidID(id) || len(secret) != secretLength {
		return "", false
	}
	if _, err := base64.RawURLEncoding.DecodeString(secret); err != nil {
		return "", false
	}
	return id, true
}

// HashToken is the stored form of a token: hex SHA-256.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Verify reports whether token hashes to storedHash, in time independent of
// where they differ.
func Verify(token, storedHash string) bool {
	sum := sha256.Sum256([]byte(token))
	want, err := hex.DecodeString(storedHash)
	if err != nil || len(want) != len(sum) {
		// Still compare, so a broken record costs the same time.
		want = make([]byte, len(sum))
		subtle.ConstantTimeCompare(sum[:], want)
		return false
	}
	return subtle.ConstantTimeCompare(sum[:], want) == 1
}
