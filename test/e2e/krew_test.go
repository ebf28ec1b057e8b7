package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// krewTool is a krew v0.4.3 binary: env (set by the Makefile), else the
// Makefile's cache.
func krewTool(t *testing.T, env, name string) string {
	t.Helper()
	bin := os.Getenv(env)
	if bin == "" {
		bin = filepath.Join(repoDir(t), ".cache", "tools", "krew-v0.4.3", name)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s not found (set %s or run make tools): %v", name, env, err)
	}
	return bin
}

func repoDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// krewManifest is what the conventions check reads of a Krew manifest.
type krewManifest struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Caveats          string `json:"caveats"`
		Platforms        []struct {
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

// checkKrewConventions applies the krew-index review rules that
// validate-krew-manifest does not check.
func checkKrewConventions(t *testing.T, path string) krewManifest {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m krewManifest
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if n := len(m.Spec.ShortDescription); n > 50 {
		t.Errorf("shortDescription has %d characters, krew-index wants at most 50", n)
	}
	if strings.Contains(strings.ToLower(m.Spec.ShortDescription), "kubectl") {
		t.Errorf("shortDescription %q repeats 'kubectl'", m.Spec.ShortDescription)
	}
	if m.Spec.Caveats == "" {
		t.Error("caveats are empty")
	}
	for field, text := range map[string]string{"description": m.Spec.Description, "caveats": m.Spec.Caveats} {
		for _, line := range strings.Split(text, "\n") {
			if len(line) > 80 {
				t.Errorf("%s is not wrapped at 80 columns: %q", field, line)
			}
		}
	}
	return m
}

// TestKrewManifestCommitted checks the committed krew/shipjob.yaml: the
// structural validation of validate-krew-manifest (its install check needs
// the release archives: `make dist` runs it) and the krew-index conventions.
func TestKrewManifestCommitted(t *testing.T) {
	validator := krewTool(t, "SHIPJOB_KREW_VALIDATE", "validate-krew-manifest")
	manifest := filepath.Join(repoDir(t), "krew", "shipjob.yaml")
	out, err := exec.Command(validator, "-manifest", manifest, "-skip-install").CombinedOutput()
	if err != nil {
		t.Fatalf("validate-krew-manifest: %v\n%s", err, out)
	}
	m := checkKrewConventions(t, manifest)
	if len(m.Spec.Platforms) != 5 {
		t.Errorf("%d platforms, want the 5 of make dist", len(m.Spec.Platforms))
	}
}

// TestKrewInstall builds the release archive of this platform with
// `make dist`, validates the rendered manifest with the full install check
// (archives served from a loopback HTTP server), installs the plugin
// offline with the real krew into a temporary KREW_ROOT and runs it through
// kubectl against the local cluster. The archive's binary carries a version
// of its own, so the test cannot pass by running the kubectl-shipjob that
// the e2e harness put on PATH.
func TestKrewInstall(t *testing.T) {
	krew := krewTool(t, "SHIPJOB_KREW", "krew")
	validator := krewTool(t, "SHIPJOB_KREW_VALIDATE", "validate-krew-manifest")
	tmp := t.TempDir()
	dist := filepath.Join(tmp, "dist")
	manifest := filepath.Join(tmp, "shipjob.yaml")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dist)), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	version := fmt.Sprintf("v0.0.0-krew-e2e.%d", time.Now().UnixNano())
	platform := runtime.GOOS + "/" + runtime.GOARCH
	mk := exec.Command("make", "-s", "dist", "DIST_DIR="+dist, "DIST_PLATFORMS="+platform, "VERSION="+version,
		"RELEASE_URL=http://"+ln.Addr().String()+"/", "KREW_MANIFEST="+manifest, "DIST_VALIDATE=")
	mk.Dir = repoDir(t)
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make dist: %v\n%s", err, out)
	}
	ext := ".tar.gz"
	if runtime.GOOS == "windows" {
		ext = ".zip"
	}
	archive := filepath.Join(dist, "kubectl-shipjob_"+version+"_"+runtime.GOOS+"_"+runtime.GOARCH+ext)
	sums, err := os.ReadFile(filepath.Join(dist, "kubectl-shipjob_"+version+"_sha256sums.txt"))
	if err != nil || !strings.Contains(string(sums), "  "+filepath.Base(archive)+"\n") {
		t.Fatalf("sha256 sums do not list %s: %v\n%s", filepath.Base(archive), err, sums)
	}
	m := checkKrewConventions(t, manifest)
	if len(m.Spec.Platforms) != 1 || m.Spec.Version != version {
		t.Fatalf("rendered manifest: version %s, %d platforms", m.Spec.Version, len(m.Spec.Platforms))
	}

	// kubectl finds krew as the plugin kubectl-krew.
	krewBin := filepath.Join(tmp, "krew-bin")
	if err := os.Mkdir(krewBin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(krew, filepath.Join(krewBin, "kubectl-krew")); err != nil {
		t.Fatal(err)
	}
	path := krewBin + string(os.PathListSeparator) + os.Getenv("PATH")

	validate := exec.Command(validator, "-manifest", manifest)
	validate.Env = append(os.Environ(), "PATH="+path)
	if out, err := validate.CombinedOutput(); err != nil || !strings.Contains(string(out), "all 1 spec.platforms installed fine") {
		t.Fatalf("validate-krew-manifest with install check: %v\n%s", err, out)
	}

	root := filepath.Join(tmp, "krew-root")
	res := cluster.Run(t, "", "env", "KREW_ROOT="+root, "PATH="+path,
		"kubectl", "krew", "install", "--manifest="+manifest, "--archive="+archive)
	if res.Code != 0 {
		t.Fatalf("kubectl krew install: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	for _, f := range []string{"kubectl-shipjob", "LICENSE", "README.md", "kubectl_complete-shipjob"} {
		if _, err := os.Stat(filepath.Join(root, "store", "shipjob", version, f)); err != nil {
			t.Errorf("installed plugin lacks %s: %v", f, err)
		}
	}

	// From here on the krew-installed plugin comes first on PATH, ahead of
	// the harness's build.
	installed := filepath.Join(root, "bin", "kubectl-shipjob")
	env := []string{"KREW_ROOT=" + root, "PATH=" + filepath.Join(root, "bin") + string(os.PathListSeparator) + path}
	run := func(args ...string) cluster.Result {
		return cluster.Run(t, "", "env", append(env, append([]string{"kubectl"}, args...)...)...)
	}
	plugins := run("plugin", "list")
	if first := firstPlugin(plugins.Stdout, "kubectl-shipjob"); first != installed {
		t.Fatalf("kubectl plugin list finds %q first, want %s\n%s%s", first, installed, plugins.Stdout, plugins.Stderr)
	}
	res = run("shipjob", "version")
	if res.Code != 0 || !strings.HasPrefix(res.Stdout, "kubectl-shipjob "+version+" ") {
		t.Fatalf("kubectl shipjob version: exit %d, want version %s\n%s%s", res.Code, version, res.Stdout, res.Stderr)
	}
	ns := cluster.Namespace(t, false)
	if res = run("shipjob", "-n", ns, "create", "hello", "--image", "busybox", "--env", "SIM_DURATION=1s"); res.Code != 0 {
		t.Fatalf("kubectl shipjob create: exit %d\n%s", res.Code, res.Stderr)
	}
	res = run("shipjob", "-n", ns, "list", "-o", "custom-columns=NAME:.metadata.name,IMAGE:.spec.image")
	if res.Code != 0 || res.Stdout != "NAME    IMAGE\nhello   busybox\n" {
		t.Fatalf("kubectl shipjob list: exit %d\n%q\n%s", res.Code, res.Stdout, res.Stderr)
	}

	// The release binary is built with other compiler flags than the
	// harness's (DIST_GCFLAGS) and talks to Helm through the narrowed kube
	// client: trigger (Helm install, then upgrade), wait, list and delete
	// (Helm uninstall) through it.
	for i := range 2 {
		if res = run("shipjob", "-n", ns, "run", "hello", "--wait"); res.Code != 0 || !strings.Contains(res.Stderr, "Completed in") {
			t.Fatalf("kubectl shipjob run --wait #%d: exit %d\n%s%s", i+1, res.Code, res.Stdout, res.Stderr)
		}
	}
	res = run("shipjob", "-n", ns, "runs", "hello", "-o", "name")
	if res.Code != 0 || strings.Count(res.Stdout, "\n") != 2 {
		t.Fatalf("kubectl shipjob runs: exit %d, want 2 runs\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	if res = run("shipjob", "-n", ns, "delete", "hello"); res.Code != 0 {
		t.Fatalf("kubectl shipjob delete: exit %d\n%s", res.Code, res.Stderr)
	}
	res = run("get", "secrets", "-n", ns, "-l", "owner=helm,name=hello", "-o", "name")
	if res.Code != 0 || res.Stdout != "" {
		t.Fatalf("Helm release records left after delete: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
}

// firstPlugin is the first path in `kubectl plugin list` output whose base
// name is name.
func firstPlugin(out, name string) string {
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if filepath.Base(line) == name {
			return line
		}
	}
	return ""
}
