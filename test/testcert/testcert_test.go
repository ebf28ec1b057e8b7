package testcert

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// serveFiles serves HTTPS with the certificate files in dir, re-read on
// every handshake.
func serveFiles(t *testing.T, dir string) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		c, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
		return &c, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func TestRotateAndServedSerial(t *testing.T) {
	dir := t.TempDir()
	first := MustRotate(t, dir, 1)
	addr := serveFiles(t, dir)
	if got, err := ServedSerial(addr, first); err != nil || got != "1" {
		t.Fatalf("serial %q, %v; want 1", got, err)
	}
	before, err := os.Stat(filepath.Join(dir, "tls.crt"))
	if err != nil {
		t.Fatal(err)
	}
	second := MustRotate(t, dir, 2)
	if got, err := ServedSerial(addr, second); err != nil || got != "2" {
		t.Fatalf("after rotation: serial %q, %v; want 2", got, err)
	}
	after, err := os.Stat(filepath.Join(dir, "tls.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().After(before.ModTime()) {
		t.Errorf("rotation did not move the file time: %v then %v", before.ModTime(), after.ModTime())
	}
	// Trusting only the old certificate, the handshake fails.
	if got, err := ServedSerial(addr, first); err == nil {
		t.Fatalf("trusting the rotated-out certificate: served %s", got)
	}
	resp, err := Client(second).Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.TLS.PeerCertificates[0].SerialNumber.Int64() != 2 {
		t.Fatalf("client saw serial %s", resp.TLS.PeerCertificates[0].SerialNumber)
	}
	for _, name := range []string{".tls.crt", ".tls.key"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", name, err)
		}
	}
}

func TestServing(t *testing.T) {
	cert := MustRotate(t, t.TempDir(), 7)
	if !cert.IsCA || cert.Subject.CommonName != "shipjob-hooks" || len(cert.IPAddresses) != 1 ||
		!cert.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) || cert.SerialNumber.Int64() != 7 {
		t.Fatalf("certificate: %+v", cert)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: Pool(cert)}); err != nil {
		t.Fatalf("self-signed certificate does not verify against itself: %v", err)
	}
}

func TestSignedByCA(t *testing.T) {
	now := time.Now()
	ca, err := New(Template{Serial: 1, CommonName: "ca", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign}, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := New(Template{Serial: 2, CommonName: "leaf", DNSNames: []string{"localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, ca)
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Cert.IsCA {
		t.Error("leaf is a CA")
	}
	if _, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: Pool(ca.Cert), DNSName: "localhost"}); err != nil {
		t.Fatalf("leaf does not verify against the CA: %v", err)
	}
	key, err := leaf.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(leaf.CertPEM(), key); err != nil {
		t.Fatalf("PEM pair does not load: %v", err)
	}
}

// TestRotateConcurrentReaders: a reader never sees a half-written pair
// that does not load (each file is renamed into place whole).
func TestRotateConcurrentReaders(t *testing.T) {
	dir := t.TempDir()
	MustRotate(t, dir, 1)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := os.ReadFile(filepath.Join(dir, "tls.crt")); err != nil {
				t.Errorf("tls.crt missing during rotation: %v", err)
				return
			}
		}
	}()
	for i := int64(2); i < 10; i++ {
		MustRotate(t, dir, i)
	}
	close(stop)
	wg.Wait()
}
