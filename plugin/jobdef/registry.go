package jobdef

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
)

// A registry is a kubernetes.io/dockerconfigjson Secret marked as ours: jobs
// refer to it by name, it prefixes their image and pulls it.
const (
	RegistrySecretPrefix = "shipjob-registry-"
	KindRegistry         = "registry"
	LabelRegistry        = Group + "/registry"
	AnnotationServer     = Group + "/server"
)

// RegistryResource names registries in errors.
var RegistryResource = schema.GroupResource{Group: Group, Resource: "registries"}

// Registry is a container registry with credentials.
type Registry struct {
	Name      string      `json:"name"`
	Namespace string      `json:"namespace,omitempty"`
	Server    string      `json:"server"` // "ghcr.io/acme": host and optional path prefix
	Username  string      `json:"username,omitempty"`
	Secret    string      `json:"secret"` // the pull Secret's name
	Created   metav1.Time `json:"created"`
}

// RegistrySecretName is the pull Secret of registry name.
func RegistrySecretName(name string) string { return RegistrySecretPrefix + name }

// ValidateRegistry checks a registry's name and server.
func ValidateRegistry(name, server string) error {
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 || len(name) > 63-len(RegistrySecretPrefix) {
		return fmt.Errorf("invalid registry name %q: must be a DNS label of at most %d characters", name, 63-len(RegistrySecretPrefix))
	}
	host, _, _ := strings.Cut(server, "/")
	if host == "" || strings.Contains(server, "://") || strings.ContainsAny(server, " \t@") {
		return fmt.Errorf("invalid registry server %q: give a host and optional path, e.g. ghcr.io/acme", server)
	}
	if _, _, _, err := SplitImage(server + "/x:latest"); err != nil {
		return fmt.Errorf("invalid registry server %q: %w", server, err)
	}
	return nil
}

// RegistrySecret builds the pull Secret of a registry.
func RegistrySecret(namespace, name, server, username, password string) (*corev1.Secret, error) {
	if err := ValidateRegistry(name, server); err != nil {
		return nil, err
	}
	host, _, _ := strings.Cut(server, "/")
	auth := base64.StdEncoding.EncodeToString([]byte(username + ":" + password))
	cfg, err := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{
		"username": username, "password": password, "auth": auth}}})
	if err != nil {
		return nil, fmt.Errorf("encode docker config: %w", err)
	}
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        RegistrySecretName(name),
			Namespace:   namespace,
			Labels:      map[string]string{LabelManagedBy: ManagedBy, LabelKind: KindRegistry, LabelRegistry: name},
			Annotations: map[string]string{AnnotationServer: server, Group + "/username": username},
		},
		Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: cfg},
	}, nil
}

func registryFromSecret(s *corev1.Secret) Registry {
	return Registry{Name: s.Labels[LabelRegistry], Namespace: s.Namespace, Server: s.Annotations[AnnotationServer],
		Username: s.Annotations[Group+"/username"], Secret: s.Name, Created: s.CreationTimestamp}
}

// GetRegistry reads a registry; a missing one is NotFound (registries).
func (s *Store) GetRegistry(ctx context.Context, name string) (*Registry, error) {
	sec, err := s.secret(ctx, RegistrySecretName(name), func(sec *corev1.Secret) bool { return sec.Labels[LabelKind] == KindRegistry })
	if apierrors.IsNotFound(err) || (err == nil && sec.Labels[LabelKind] != KindRegistry) {
		return nil, apierrors.NewNotFound(RegistryResource, name)
	}
	if err != nil {
		return nil, fmt.Errorf("get registry %s: %w", name, err)
	}
	r := registryFromSecret(sec)
	return &r, nil
}

// ListRegistries returns the registries sorted by name.
func (s *Store) ListRegistries(ctx context.Context) ([]Registry, error) {
	list, err := s.Client.CoreV1().Secrets(s.Namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelKind + "=" + KindRegistry})
	if err != nil {
		return nil, fmt.Errorf("list registries: %w", err)
	}
	out := make([]Registry, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, registryFromSecret(&list.Items[i]))
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Namespace+"/"+out[a].Name < out[b].Namespace+"/"+out[b].Name })
	return out, nil
}

// CreateRegistry stores a new registry with its credentials (a pull
// Secret); an existing one is AlreadyExists (registries).
func (s *Store) CreateRegistry(ctx context.Context, name, server, username, password string, opts WriteOptions) (*Registry, error) {
	sec, err := RegistrySecret(s.Namespace, name, server, username, password)
	if err != nil {
		return nil, err
	}
	out, err := s.Client.CoreV1().Secrets(s.Namespace).Create(ctx, sec, metav1.CreateOptions{DryRun: opts.DryRun, FieldManager: opts.FieldManager})
	if apierrors.IsAlreadyExists(err) {
		return nil, apierrors.NewAlreadyExists(RegistryResource, name)
	}
	if err != nil {
		return nil, fmt.Errorf("add registry %s: %w", name, err)
	}
	r := registryFromSecret(out)
	return &r, nil
}

// DeleteRegistry removes a registry; a missing one is NotFound
// (registries), and a Secret of that name that is not a registry is left
// alone. Jobs that use it cannot run until it is added again.
func (s *Store) DeleteRegistry(ctx context.Context, name string, opts WriteOptions) error {
	if _, err := s.GetRegistry(ctx, name); err != nil {
		return err
	}
	err := s.Client.CoreV1().Secrets(s.Namespace).Delete(ctx, RegistrySecretName(name), metav1.DeleteOptions{DryRun: opts.DryRun})
	if apierrors.IsNotFound(err) {
		return apierrors.NewNotFound(RegistryResource, name)
	}
	if err != nil {
		return fmt.Errorf("delete registry %s: %w", name, err)
	}
	return nil
}

// ResolvedImage is the image a run pulls and the Secrets it pulls with.
type ResolvedImage struct {
	Image       string
	PullSecrets []string
}

// ResolveImage returns the full image reference of j with tag (empty = the
// job's tag) and its pull secrets, reading the job's registry if it has one.
func (s *Store) ResolveImage(ctx context.Context, j *Job, tag string) (ResolvedImage, error) {
	repo := j.Spec.Image
	secrets := append([]string(nil), j.Spec.ImagePullSecrets...)
	if j.Spec.Registry != "" {
		reg, err := s.GetRegistry(ctx, j.Spec.Registry)
		if err != nil {
			return ResolvedImage{}, err
		}
		repo = strings.TrimSuffix(reg.Server, "/") + "/" + repo
		secrets = append(secrets, reg.Secret)
	}
	ref := repo
	switch {
	case tag != "":
		ref += ":" + tag
	case j.Spec.Digest != "":
		ref += "@" + j.Spec.Digest
	default:
		ref += ":" + j.Spec.Tag
	}
	if _, _, _, err := SplitImage(ref); err != nil {
		return ResolvedImage{}, err
	}
	return ResolvedImage{Image: ref, PullSecrets: secrets}, nil
}
