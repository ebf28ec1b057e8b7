package cluster

import (
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

//go:embed kwok-stages.yaml
var kwokStages string

// Identities of the local cluster. Admin is in system:masters; Limited is
// bound by a Role to LimitedNamespace only.
const (
	AdminUser        = "shipjob-admin"
	LimitedUser      = "shipjob-limited"
	LimitedNamespace = "limited"
	AdminContext     = "shipjob-admin"
	LimitedContext   = "shipjob-limited"
)

// SimulatedLogLines are the lines every simulated container prints (see
// kwok config below); tests compare `kubectl logs` output against them.
var SimulatedLogLines = []string{
	"simulated workload: starting",
	"simulated workload: done",
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// writeTokens writes kube-apiserver's --token-auth-file.
func writeTokens(path, admin, limited string) error {
	content := fmt.Sprintf("%s,%s,%s,\"system:masters\"\n%s,%s,%s\n",
		admin, AdminUser, AdminUser, limited, LimitedUser, LimitedUser)
	return os.WriteFile(path, []byte(content), 0o600)
}

// writeAuthenticationConfig writes kube-apiserver's --authentication-config:
// one JWT issuer, username = email claim, groups = groups claim, no prefixes.
// Values are JSON-quoted (JSON is YAML), so nothing in them can change the
// document's structure.
func writeAuthenticationConfig(path string, j JWTIssuer) error {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	content := "apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\njwt:\n" +
		"- issuer:\n    url: " + q(j.URL) + "\n    audiences: [" + q(j.Audience) + "]\n    certificateAuthority: " + q(j.CAPEM) + "\n" +
		"  claimMappings:\n    username: {claim: email, prefix: \"\"}\n    groups: {claim: groups, prefix: \"\"}\n"
	return os.WriteFile(path, []byte(content), 0o600)
}

// writeAuditPolicy logs every request at Metadata level, so benchmarks can
// count API requests per operation by user agent.
func writeAuditPolicy(path string) error {
	return os.WriteFile(path, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n"), 0o644)
}

// writeKubeconfig writes a kubeconfig with an admin context (current) and a
// namespace-limited one.
func writeKubeconfig(path, server string, caPEM []byte, adminToken, limitedToken string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["shipjob-local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[AdminUser] = &clientcmdapi.AuthInfo{Token: adminToken}
	cfg.AuthInfos[LimitedUser] = &clientcmdapi.AuthInfo{Token: limitedToken}
	cfg.Contexts[AdminContext] = &clientcmdapi.Context{Cluster: "shipjob-local", AuthInfo: AdminUser, Namespace: "default"}
	cfg.Contexts[LimitedContext] = &clientcmdapi.Context{Cluster: "shipjob-local", AuthInfo: LimitedUser, Namespace: LimitedNamespace}
	cfg.CurrentContext = AdminContext
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// writeKwokConfig writes KWOK's --config: our stages plus a ClusterLogs entry
// that serves SimulatedLogLines (CRI log format) for every container.
func writeKwokConfig(dir string) (string, error) {
	logPath := filepath.Join(dir, "simulated-container.log")
	var b strings.Builder
	for i, line := range SimulatedLogLines {
		fmt.Fprintf(&b, "2026-01-01T00:00:%02d.000000000Z stdout F %s\n", i, line)
	}
	if err := os.WriteFile(logPath, []byte(b.String()), 0o644); err != nil {
		return "", fmt.Errorf("write simulated log: %w", err)
	}
	cfg := kwokStages + fmt.Sprintf(`---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: simulated-logs
spec:
  logs:
  - logsFile: %q
    follow: true
`, logPath)
	path := filepath.Join(dir, "kwok.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return "", fmt.Errorf("write kwok config: %w", err)
	}
	return path, nil
}
