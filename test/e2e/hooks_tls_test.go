package e2e

import (
	"crypto/x509"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
	"github.com/shipjob/kubectl-shipjob/test/testcert"
)

// servedSerial is the serial of the certificate the server presents to a
// client that trusts only cert ("" when the handshake fails).
func servedSerial(addr string, cert *x509.Certificate) string {
	serial, _ := testcert.ServedSerial(addr, cert)
	return serial
}

// TestHookServeTLSWithRotation (L7): with --tls-cert-file/--tls-key-file
// the server speaks HTTPS, triggers work over it, and a rotated
// certificate is served without a restart.
func TestHookServeTLSWithRotation(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	createSimJob(t, ns, "web")
	_, token := createHook(t, ns, "web", "CI")
	dir := t.TempDir()
	first := testcert.MustRotate(t, dir, 1)
	srv := startHookServerNoWait(t, "-n", ns, "--tls-cert-file", filepath.Join(dir, "tls.crt"),
		"--tls-key-file", filepath.Join(dir, "tls.key"), "--external-url", "https://hooks.example.com")
	addr := strings.TrimPrefix(srv.URL, "http://")
	eventually(t, 20*time.Second, "hook server ready over HTTPS", func() bool {
		resp, err := testcert.Client(first).Get("https://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if got := servedSerial(addr, first); got != "1" {
		t.Fatalf("serial %q, want 1", got)
	}
	req, _ := http.NewRequest(http.MethodPost, "https://"+addr+"/api/v1/dh", strings.NewReader(`{}`))
	req.Header.Set("X-Deploy-Hook-Token", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := testcert.Client(first).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || !strings.Contains(string(body), `"statusUrl":"https://hooks.example.com/api/v1/dh/runs/web-`) {
		t.Fatalf("trigger over HTTPS: %d %s", resp.StatusCode, body)
	}
	// Plain HTTP on the TLS port is not served.
	if code, _, err := hookCall(http.MethodGet, srv.URL+"/healthz", "", "", ""); err == nil && code == 200 {
		t.Fatal("plain HTTP served on the TLS port")
	}

	second := testcert.MustRotate(t, dir, 2)
	if got := servedSerial(addr, second); got != "2" {
		t.Fatalf("after rotation: serial %q, want 2 (log: %s)", got, tail(srv.logs.String(), 2000))
	}
	// The server logs the reload during the handshake; its stderr reaches
	// srv.logs through a pipe, a moment later.
	poll(t, 5*time.Second, 50*time.Millisecond, "the reload logged", func() bool {
		return strings.Contains(srv.logs.String(), `"msg":"TLS certificate reloaded","serial":"2"`)
	}, func() string { return tail(srv.logs.String(), 2000) })
}
