package console

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// The session Secret's keys: the sealing key (32 bytes) and the revoked
// session ids (JSON: id → Unix time its session would end anyway).
const (
	keyField     = "key"
	revokedField = "revoked"
)

// maxRevoked bounds the revocation list (a Secret holds 1 MiB): past it
// the entries closest to their end are dropped first.
const maxRevoked = 10000

// sealer seals values with AES-256-GCM; the cookie's name is the
// additional data, so a value sealed for one cookie opens in no other.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("the sealing key has %d bytes, want 32", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	return &sealer{aead: g}, nil
}

func (s *sealer) seal(name string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("seal %s: %w", name, err)
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal %s: %w", name, err)
	}
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(name))), nil
}

func (s *sealer) open(name, sealed string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) < s.aead.NonceSize() {
		return errors.New("not a sealed value")
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(name))
	if err != nil {
		return errors.New("not sealed with this server's key")
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("sealed value: %w", err)
	}
	return nil
}

// store is the session Secret: the sealing key, shared by every replica,
// and the revocation list, read at most every revokedTTL.
type store struct {
	client          kubernetes.Interface
	namespace, name string
	now             func() time.Time
	ttl             time.Duration

	mu      sync.Mutex
	revoked map[string]int64
	read    time.Time
}

var revokedTTL = 2 * time.Second

// key returns the sealing key, creating the Secret when it is missing:
// replicas racing to create it all end up with the one that was created.
func (s *store) key(ctx context.Context) ([]byte, error) {
	sec, err := s.client.CoreV1().Secrets(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("session key: %w", err)
		}
		sec = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: s.namespace,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "kubectl-shipjob"}},
			Type: corev1.SecretTypeOpaque, Data: map[string][]byte{keyField: key}}
		sec, err = s.client.CoreV1().Secrets(s.namespace).Create(ctx, sec, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			sec, err = s.client.CoreV1().Secrets(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("session Secret %s/%s: %w", s.namespace, s.name, err)
	}
	if k := sec.Data[keyField]; len(k) != 32 {
		return nil, fmt.Errorf("session Secret %s/%s: its %q is %d bytes, want 32 (delete the Secret to have a new one made)",
			s.namespace, s.name, keyField, len(k))
	}
	return sec.Data[keyField], nil
}

func parseRevoked(sec *corev1.Secret) map[string]int64 {
	m := map[string]int64{}
	if b := sec.Data[revokedField]; len(b) > 0 {
		_ = json.Unmarshal(b, &m) // a damaged list is an empty one: sessions still end at their max
	}
	return m
}

// isRevoked says whether the session id was signed out, on any replica.
// The list is re-read when older than the TTL; when that fails the last
// one read is used.
func (s *store) isRevoked(ctx context.Context, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.revoked == nil || s.now().Sub(s.read) > s.ttl {
		sec, err := s.client.CoreV1().Secrets(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
		if err == nil {
			s.revoked, s.read = parseRevoked(sec), s.now()
		} else if s.revoked == nil {
			s.revoked = map[string]int64{}
		}
	}
	_, ok := s.revoked[id]
	return ok
}

// revoke records id as signed out until until (its session's end).
func (s *store) revoke(ctx context.Context, id string, until time.Time) error {
	var kept map[string]int64
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sec, err := s.client.CoreV1().Secrets(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		m := parseRevoked(sec)
		now := s.now().Unix()
		for k, end := range m {
			if end < now {
				delete(m, k)
			}
		}
		m[id] = until.Unix()
		for len(m) > maxRevoked {
			first := ""
			for k, end := range m {
				if first == "" || end < m[first] {
					first = k
				}
			}
			delete(m, first)
		}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if sec.Data == nil {
			sec.Data = map[string][]byte{}
		}
		sec.Data[revokedField] = b
		_, err = s.client.CoreV1().Secrets(s.namespace).Update(ctx, sec, metav1.UpdateOptions{})
		kept = m
		return err
	})
	if err != nil {
		return fmt.Errorf("record the sign-out in Secret %s/%s: %w", s.namespace, s.name, err)
	}
	s.mu.Lock()
	s.revoked, s.read = kept, s.now()
	s.mu.Unlock()
	return nil
}
