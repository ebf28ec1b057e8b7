package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// writeServingCert writes a self-signed certificate for 127.0.0.1 with
// serial into dir/tls.crt and dir/tls.key the way a rotation does (new
// files renamed over the old ones) and returns it.
func writeServingCert(t *testing.T, dir string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "shipjob-hooks"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{"tls.key": {Type: "EC PRIVATE KEY", Bytes: kder}, "tls.crt": {Type: "CERTIFICATE", Bytes: der}} {
		tmp := filepath.Join(dir, "."+name)
		if err := os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(time.Duration(serial) * time.Second)
		if err := os.Chtimes(tmp, later, later); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// httpsClient trusts only cert and makes a new connection per request.
func httpsClient(cert *x509.Certificate) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// servedSerial is the serial of the certificate the server presents to a
// client that trusts only cert ("" when the handshake fails).
func servedSerial(addr string, cert *x509.Certificate) string {
	resp, err := httpsClient(cert).Get("https://" + addr + "/healthz")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	return resp.TLS.PeerCertificates[0].SerialNumber.String()
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
	first := writeServingCert(t, dir, 1)
	srv := startHookServerNoWait(t, "-n", ns, "--tls-cert-file", filepath.Join(dir, "tls.crt"),
		"--tls-key-file", filepath.Join(dir, "tls.key"), "--external-url", "https://hooks.example.com")
	addr := strings.TrimPrefix(srv.URL, "http://")
	eventually(t, 20*time.Second, "hook server ready over HTTPS", func() bool {
		resp, err := httpsClient(first).Get("https://" + addr + "/readyz")
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
	resp, err := httpsClient(first).Do(req)
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

	second := writeServingCert(t, dir, 2)
	if got := servedSerial(addr, second); got != "2" {
		t.Fatalf("after rotation: serial %q, want 2 (log: %s)", got, tail(srv.logs.String(), 2000))
	}
	if !strings.Contains(srv.logs.String(), `"msg":"TLS certificate reloaded","serial":"2"`) {
		t.Errorf("reload not logged:\n%s", tail(srv.logs.String(), 2000))
	}
}
