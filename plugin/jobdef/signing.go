package jobdef

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A job's notifications are signed (HMAC-SHA256 of the body, header
// X-Shipjob-Signature-256) with a secret of its own, kept in a Secret of its
// own so that `get -o yaml` never shows it: SigningSecretPrefix+name, of
// type SigningSecretType, owned by the job's Secret (the garbage collector
// deletes it with the job). It is made when a job first has notifications
// and shown once; `set --rotate-signing-secret` makes a new one.
const (
	SigningSecretPrefix                   = "shipjob-notify-"
	SigningSecretType   corev1.SecretType = "shipjob.dev/notify-signing-secret"
	SigningSecretKey                      = "signing-secret"
	KindSigningSecret                     = "notify-signing-secret"
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
// has none) and returns the new one.
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
		_, err = secrets.Update(ctx, sec, metav1.UpdateOptions{DryRun: opts.DryRun, FieldManager: opts.FieldManager})
	}
	if err != nil {
		return "", fmt.Errorf("rotate the signing secret of job %s: %w", j.Name, err)
	}
	return value, nil
}

// SigningSecret reads job name's signing secret for a delivery. What it
// reads is checked like any stored input: the Secret must be of its type,
// labelled for the job, and hold one well-formed value.
func (s *Store) SigningSecret(ctx context.Context, name string) ([]byte, error) {
	sec, err := s.Client.CoreV1().Secrets(s.Namespace).Get(ctx, SigningSecretName(name), metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read the signing secret of job %s: %w", name, err)
	}
	v := string(sec.Data[SigningSecretKey])
	hexPart, ok := strings.CutPrefix(v, "whsec_")
	if sec.Type != SigningSecretType || sec.Labels[LabelJob] != name || sec.Labels[LabelKind] != KindSigningSecret ||
		!ok || len(hexPart) != 2*signingSecretLen || strings.Trim(hexPart, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("the signing secret of job %s (secret %s) is not one kubectl-shipjob made: rotate it with 'kubectl shipjob set %s --rotate-signing-secret'", name, sec.Name, name)
	}
	return []byte(v), nil
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
