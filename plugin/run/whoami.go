package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// WhoAmI returns "user:<name>" for the identity the API server sees (a
// SelfSubjectReview), for a run's provenance.
func WhoAmI(ctx context.Context, client kubernetes.Interface) string {
	r, err := client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil || r.Status.UserInfo.Username == "" {
		return "user:unknown"
	}
	return "user:" + r.Status.UserInfo.Username
}

// whoAmITTL is how long a cached identity is trusted.
const whoAmITTL = time.Hour

// WhoAmICached is WhoAmI remembered for an hour in cacheDir (kubectl's
// --cache-dir), keyed by a hash of the server and the credentials: the same
// credentials are the same user, so repeated triggers skip the request.
func WhoAmICached(ctx context.Context, client kubernetes.Interface, cfg *rest.Config, cacheDir string) string {
	if cacheDir == "" || cfg == nil {
		return WhoAmI(ctx, client)
	}
	key, err := json.Marshal([]any{cfg.Host, cfg.BearerToken, cfg.BearerTokenFile, cfg.CertData, cfg.CertFile,
		cfg.Username, cfg.Password, cfg.Impersonate, cfg.ExecProvider, cfg.AuthProvider})
	if err != nil {
		return WhoAmI(ctx, client)
	}
	sum := sha256.Sum256(key)
	path := filepath.Join(cacheDir, "shipjob", "whoami", hex.EncodeToString(sum[:16]))
	if st, err := os.Stat(path); err == nil && time.Since(st.ModTime()) < whoAmITTL {
		if data, err := os.ReadFile(path); err == nil && strings.HasPrefix(string(data), "user:") {
			return string(data)
		}
	}
	who := WhoAmI(ctx, client)
	if who != "user:unknown" && os.MkdirAll(filepath.Dir(path), 0o700) == nil {
		tmp := path + ".tmp" + hex.EncodeToString(sum[16:20])
		if os.WriteFile(tmp, []byte(who), 0o600) == nil {
			_ = os.Rename(tmp, path)
		}
	}
	return who
}
