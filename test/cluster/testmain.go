package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/shipjob/kubectl-shipjob/test/oidcprovider"
)

// Shared is the cluster of the running test binary, set by Main.
var Shared *Cluster

// sharedOIDC is the OpenID Connect provider of the running test binary, which
// Shared's API server trusts; set by Main.
var sharedOIDC *oidcprovider.Provider

// OIDC is the provider the e2e cluster's API server trusts (audience
// oidcprovider.ClientID, username = email, groups = groups, no prefixes).
func OIDC() *oidcprovider.Provider { return sharedOIDC }

// PluginBin is the kubectl-shipjob binary under test (on PATH during tests).
var PluginBin string

// Main is the TestMain of e2e packages: it builds kubectl-shipjob, starts
// one cluster for the whole test binary, runs the tests and tears the
// cluster down — also on SIGINT/SIGTERM. KUBECONFIG points at the cluster
// and the plugin is on PATH, so `kubectl shipjob` works in tests.
func Main(m *testing.M) int {
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	binDir := os.Getenv("SHIPJOB_CLUSTER_BIN")
	if binDir == "" {
		binDir = filepath.Join(root, ".cache", "cluster-bin", "k8s-v1.37.2_kwok-v0.8.0")
	}
	pathDir, err := os.MkdirTemp("", "shipjob-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(pathDir)
	PluginBin = filepath.Join(pathDir, "kubectl-shipjob")
	build := exec.Command("go", "build", "-o", PluginBin, "./cmd/kubectl-shipjob")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build kubectl-shipjob:", err)
		return 1
	}
	os.Setenv("PATH", pathDir+string(os.PathListSeparator)+os.Getenv("PATH"))

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	idp, err := oidcprovider.Start(oidcprovider.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: start OIDC provider:", err)
		return 1
	}
	defer idp.Close()
	sharedOIDC = idp
	c, err := Start(ctx, Options{BinDir: binDir, JWT: &JWTIssuer{URL: idp.Issuer, CAPEM: string(idp.CAPEM), Audience: oidcprovider.ClientID}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: start cluster:", err)
		return 1
	}
	if err := waitJWT(ctx, c, idp); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		c.Stop()
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: local cluster ready in %.1fs at %s\n", time.Since(start).Seconds(), c.Server)
	Shared = c
	os.Setenv("KUBECONFIG", c.Kubeconfig)
	go func() {
		if _, ok := <-sigs; ok {
			fmt.Fprintln(os.Stderr, "e2e: interrupted, stopping cluster")
			c.Stop()
			os.Exit(130)
		}
	}()
	code := m.Run()
	if code != 0 {
		keepLogs(c)
	}
	c.Stop()
	return code
}

// waitJWT waits until the API server's JWT authenticator (which loads the
// issuer's discovery document in the background) accepts an ID token of the
// provider, so that no test sees it still starting.
func waitJWT(ctx context.Context, c *Cluster, idp *oidcprovider.Provider) error {
	tok, err := idp.SignIn(ctx, oidcprovider.SignIn{Username: oidcprovider.Users[0].Email, Password: oidcprovider.Password})
	if err != nil {
		return fmt.Errorf("sign in at the OIDC provider: %w", err)
	}
	admin, err := c.RESTConfig(false)
	if err != nil {
		return err
	}
	cfg := rest.AnonymousClientConfig(admin)
	cfg.BearerToken = tok.IDToken
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	return waitFor(ctx, 60*time.Second, "the API server to accept the OIDC provider's ID tokens", func() (bool, error) {
		r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			return false, err
		}
		return r.Status.UserInfo.Username == oidcprovider.Users[0].Email, nil
	})
}

// keepLogs copies daemon logs next to the test's temp dir for post-mortems
// when SHIPJOB_KEEP_LOGS names a directory.
func keepLogs(c *Cluster) {
	dst := os.Getenv("SHIPJOB_KEEP_LOGS")
	if dst == "" {
		return
	}
	_ = os.MkdirAll(dst, 0o755)
	_ = exec.Command("cp", "-r", filepath.Join(c.Dir, "logs"), dst).Run()
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(data, []byte("module github.com/shipjob/kubectl-shipjob\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("repository root not found above the working directory")
		}
		dir = parent
	}
}

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace creates a fresh namespace for t (deleted when t ends) and grants
// the limited user access to it when limited is true.
func Namespace(t testing.TB, limited bool) string {
	t.Helper()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	base := strings.Trim(nonDNS.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(base) > 40 {
		base = base[:40]
	}
	ns := strings.Trim(base, "-") + "-" + hex.EncodeToString(b)
	ctx := context.Background()
	if err := Shared.CreateNamespace(ctx, ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	if limited {
		if err := Shared.GrantLimited(ctx, ns); err != nil {
			t.Fatalf("grant limited user: %v", err)
		}
	}
	t.Cleanup(func() {
		cs, err := Shared.Client()
		if err == nil {
			_ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		}
	})
	return ns
}

// Result is the outcome of a command run by Run.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs a command (e.g. "kubectl", "shipjob", "list") with stdin and the
// test environment, and returns its output and exit code. It fails t only
// when the command cannot be started at all.
func Run(t testing.TB, stdin string, name string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	res := Result{Stdout: out.String(), Stderr: errOut.String()}
	if err != nil {
		exitErr, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run %s %v: %v", name, args, err)
		}
		res.Code = exitErr.ExitCode()
	}
	return res
}

// Kubectl runs kubectl with args and fails t unless it exits 0.
func Kubectl(t testing.TB, args ...string) string {
	t.Helper()
	res := Run(t, "", "kubectl", args...)
	if res.Code != 0 {
		t.Fatalf("kubectl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), res.Code, res.Stdout, res.Stderr)
	}
	return res.Stdout
}
