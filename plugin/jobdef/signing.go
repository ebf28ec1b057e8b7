package jobdef

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A job's notifications are signed (per webhook, with a timestamp and the
// delivery id: plugin/notify's sign.go) with a secret of its own, kept in a Secret of its
// own so that `get -o yaml` never shows it: SigningSecretPrefix+name, of
// type SigningSecretType, owned by the job's Secret (the garbage collector
// deletes it with the job). It is made when a job first has notifications
// and shown once; `set --rotate-signing-secret` makes a new one.
const (
	SigningSecretPrefix                   = "shipjob-notify-"
	SigningSecretType   corev1.SecretType = "shipjob.dev/notify-signing-secret"
	SigningSecretKey                      = "signing-secret"
	// After a rotation the Secret keeps the previous secret under
	// PreviousSigningSecretKey until PreviousUntilKey (RFC 3339):
	// deliveries carry a signature under each meanwhile (review N9).
	PreviousSigningSecretKey = "previous-signing-secret"
	PreviousUntilKey         = "previous-valid-until"
	// SigningSecretGrace is how long a rotated secret still signs.
	SigningSecretGrace = 24 * time.Hour
	KindSigningSecret  = "notify-signing-secret"
	// signingSecretLen is the random bytes of a secret; its text is
	// "whsec_" and their hex.
	signingSecretLen = 32
)

// SigningSecretName is the name of job name's signing Secret.
func SigningSecretName(name string) string { return SigningSecretPrefix + name }

// EnsureSigningSecret gives job j (as stored: it needs its UID) a signing
// secret if it has notifications and none yet. It returns the secret when
// it made one, "" when there was one already or j has no notifications. A
// dry run writes nothing and returns "".
func (s *Store) EnsureSigningSecret(ctx context.Context, j *Job, opts WriteOptions) (string, error) {
	if len(j.Spec.Notifications) == 0 || len(opts.DryRun) > 0 {
		return "", nil
	}
	_, err := s.Client.CoreV1().Secrets(s.Namespace).Get(ctx, SigningSecretName(j.Name), metav1.GetOptions{})
	if err == nil {
		return "", nil
	}
	if !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("read the signing secret of job %s: %w", j.Name, err)
	}
	value, sec, err := newSigningSecret(j)
	if err != nil {
		return "", err
	}
	_, err = s.Client.CoreV1().Secrets(s.Namespace).Create(ctx, sec, metav1.CreateOptions{FieldManager: opts.FieldManager})
	if apierrors.IsAlreadyExists(err) { // made by a concurrent writer: theirs holds
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store the signing secret of job %s: %w", j.Name, err)
	}
	return value, nil
}

// RotateSigningSecret replaces job j's signing secret (making one if it
// has none) and returns the new one. The previous one, if well-formed,
// still signs for SigningSecretGrace from now, so that receivers can switch.
func (s *Store) RotateSigningSecret(ctx context.Context, j *Job, opts WriteOptions) (string, error) {
	value, sec, err := newSigningSecret(j)
	if err != nil {
		return "", err
	}
	secrets := s.Client.CoreV1().Secrets(s.Namespace)
	old, err := secrets.Get(ctx, sec.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = secrets.Create(ctx, sec, metav1.CreateOptions{DryRun: opts.DryRun, FieldManager: opts.FieldManager})
	case err == nil:
		sec.ResourceVersion = old.ResourceVersion
		if prev := old.Data[SigningSecretKey]; wellFormed(string(prev)) {
			sec.Data[PreviousSigningSecretKey] = prev
			sec.Data[PreviousUntilKey] = []byte(time.Now().Add(SigningSecretGrace).UTC().Format(time.RFC3339))
		}
		_, err = secrets.Update(ctx, sec, metav1.UpdateOptions{DryRun: opts.DryRun, FieldManager: opts.FieldManager})
	}
	if err != nil {
		return "", fmt.Errorf("rotate the signing secret of job %s: %w", j.Name, err)
	}
	return value, nil
}

// SigningKeys are a job's signing secrets: the current one, and the
// previous one during its grace period after a rotation.
type SigningKeys struct {
	Current, Previous []byte
	PreviousUntil     time.Time
}

// Active are the secrets deliveries are signed with at now, the current
// one first.
func (k SigningKeys) Active(now time.Time) [][]byte {
	if len(k.Previous) > 0 && now.Before(k.PreviousUntil) {
		return [][]byte{k.Current, k.Previous}
	}
	return [][]byte{k.Current}
}

// SigningSecret reads job name's current signing secret.
func (s *Store) SigningSecret(ctx context.Context, name string) ([]byte, error) {
	k, err := s.SigningKeys(ctx, name)
	return k.Current, err
}

// SigningKeys reads job name's signing secrets for a delivery. What it
// reads is checked like any stored input: the Secret must be of its type,
// labelled for the job, and hold well-formed values.
func (s *Store) SigningKeys(ctx context.Context, name string) (SigningKeys, error) {
	sec, err := s.secret(ctx, SigningSecretName(name), func(sec *corev1.Secret) bool {
		return sec.Type == SigningSecretType && sec.Labels[LabelJob] == name && sec.Labels[LabelKind] == KindSigningSecret
	})
	if err != nil {
		return SigningKeys{}, fmt.Errorf("read the signing secret of job %s: %w", name, err)
	}
	v := string(sec.Data[SigningSecretKey])
	prev, until := sec.Data[PreviousSigningSecretKey], string(sec.Data[PreviousUntilKey])
	untilT, untilErr := time.Parse(time.RFC3339, until)
	if sec.Type != SigningSecretType || sec.Labels[LabelJob] != name || sec.Labels[LabelKind] != KindSigningSecret ||
		!wellFormed(v) || (len(prev) > 0 || until != "") && (!wellFormed(string(prev)) || untilErr != nil) {
		return SigningKeys{}, fmt.Errorf("the signing secret of job %s (secret %s) is not one kubectl-shipjob made: rotate it with 'kubectl shipjob set %s --rotate-signing-secret'", name, sec.Name, name)
	}
	k := SigningKeys{Current: []byte(v)}
	if len(prev) > 0 {
		k.Previous, k.PreviousUntil = prev, untilT
	}
	return k, nil
}

// wellFormed: "whsec_" and the hex of signingSecretLen bytes.
func wellFormed(v string) bool {
	hexPart, ok := strings.CutPrefix(v, "whsec_")
	return ok && len(hexPart) == 2*signingSecretLen && strings.Trim(hexPart, "0123456789abcdef") == ""
}

func newSigningSecret(j *Job) (string, *corev1.Secret, error) {
	b := make([]byte, signingSecretLen)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("make a signing secret: %w", err)
	}
	value := "whsec_" + hex.EncodeToString(b)
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      SigningSecretName(j.Name),
			Namespace: j.Namespace,
			Labels:    map[string]string{LabelManagedBy: ManagedBy, LabelKind: KindSigningSecret, LabelJob: j.Name},
		},
		Type: SigningSecretType,
		Data: map[string][]byte{SigningSecretKey: []byte(value)},
	}
	if j.UID != "" {
		sec.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Secret", Name: SecretName(j.Name), UID: j.UID}}
	}
	return value, sec, nil
}

// DeleteSigningSecret deletes job name's signing Secret, if there is one
// that kubectl-shipjob made for the job (of its type, labelled for it): a
// Secret of that name made by someone else is left alone. Deleting a job
// does it before deleting the definition, instead of waiting for the
// garbage collector.
func (s *Store) DeleteSigningSecret(ctx context.Context, name string, opts WriteOptions) error {
	secrets := s.Client.CoreV1().Secrets(s.Namespace)
	sec, err := secrets.Get(ctx, SigningSecretName(name), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("read the signing secret of job %s: %w", name, err)
	case sec.Type != SigningSecretType || sec.Labels[LabelJob] != name || sec.Labels[LabelKind] != KindSigningSecret:
		return nil
	}
	err = secrets.Delete(ctx, sec.Name, metav1.DeleteOptions{DryRun: opts.DryRun, Preconditions: &metav1.Preconditions{UID: &sec.UID}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete the signing secret of job %s: %w", name, err)
	}
	return nil
}
