package hookserver

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/test/testcert"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with serial to
// dir/tls.crt and dir/tls.key, and returns it.
func writeCert(t *testing.T, dir string, serial int64) *x509.Certificate {
	t.Helper()
	return testcert.MustRotate(t, dir, serial)
}

// serveTLS runs Serve with TLS on a random port and returns its address.
func serveTLS(t *testing.T, dir string) string {
	t.Helper()
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cfg := ServerConfig{Client: fake.NewClientset(), Triggerer: &fakeTriggerer{}, Namespace: testNS,
		Probe: func(context.Context) error { return nil }, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	go func() {
		done <- Serve(ctx, cfg, ServeOptions{Listen: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second,
			TLSCertFile: filepath.Join(dir, "tls.crt"), TLSKeyFile: filepath.Join(dir, "tls.key")})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		for sc.Scan() {
			var line struct {
				Msg, Addr string
				TLS       bool
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" && line.TLS {
				return line.Addr
			}
		}
	}
	t.Fatalf("not listening with TLS:\n%s", logs.String())
	return ""
}

// servedSerial makes a new TLS connection that trusts only want and
// returns the serial of the certificate served.
func servedSerial(t *testing.T, addr string, trust ...*x509.Certificate) string {
	t.Helper()
	serial, err := testcert.ServedSerial(addr, trust...)
	if err != nil {
		t.Fatal(err)
	}
	return serial
}

// TestHookServesTLSAndReloadsRotatedCertificate is L7 of the security
// review (TLS in the server): the certificate files are re-read when they
// change, a broken rotation keeps the previous certificate.
func TestHookServesTLSAndReloadsRotatedCertificate(t *testing.T) {
	dir := t.TempDir()
	first := writeCert(t, dir, 1)
	addr := serveTLS(t, dir)
	if got := servedSerial(t, addr, first); got != "1" {
		t.Fatalf("serial %s, want 1", got)
	}
	second := writeCert(t, dir, 2)
	if got := servedSerial(t, addr, second); got != "2" {
		t.Fatalf("after rotation: serial %s, want 2", got)
	}
	// A half-written rotation (key not yet there) keeps serving serial 2.
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), []byte("not yet"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := servedSerial(t, addr, second); got != "2" {
		t.Fatalf("during a broken rotation: serial %s, want 2", got)
	}
	third := writeCert(t, dir, 3)
	if got := servedSerial(t, addr, third); got != "3" {
		t.Fatalf("after the rotation completed: serial %s, want 3", got)
	}
	// Plain HTTP on the TLS port is refused, not served.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	if strings.Contains(line, "200") {
		t.Fatalf("plain HTTP answered %q", line)
	}
}

func TestHookServeTLSFilesMustLoad(t *testing.T) {
	dir := t.TempDir()
	err := Serve(context.Background(), ServerConfig{Client: fake.NewClientset()}, ServeOptions{Listen: "127.0.0.1:0",
		TLSCertFile: filepath.Join(dir, "missing.crt"), TLSKeyFile: filepath.Join(dir, "missing.key")})
	if err == nil || !strings.Contains(err.Error(), "load TLS certificate") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Serve with missing files: %v", err)
	}
}
