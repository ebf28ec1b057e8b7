package cluster

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/testcert"
)

// pki holds the file names of the key material a local cluster needs.
type pki struct {
	CACert, CAKey           string // cluster CA: signs the serving certificate
	ServingCert, ServingKey string // kube-apiserver serving certificate (IP SAN 127.0.0.1)
	SAKey, SAPub            string // service account token signing key pair
	caPEM                   []byte
}

// writePKI creates a CA, a serving certificate for 127.0.0.1/localhost and a
// service-account signing key in dir.
func writePKI(dir string) (*pki, error) {
	p := &pki{
		CACert: filepath.Join(dir, "ca.crt"), CAKey: filepath.Join(dir, "ca.key"),
		ServingCert: filepath.Join(dir, "apiserver.crt"), ServingKey: filepath.Join(dir, "apiserver.key"),
		SAKey: filepath.Join(dir, "sa.key"), SAPub: filepath.Join(dir, "sa.pub"),
	}
	now := time.Now().Add(-time.Hour)
	ca, err := testcert.New(testcert.Template{Serial: 1, CommonName: "shipjob-local-ca", NotBefore: now,
		NotAfter: now.Add(10 * 365 * 24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}, nil)
	if err != nil {
		return nil, fmt.Errorf("cluster CA: %w", err)
	}
	srv, err := testcert.New(testcert.Template{Serial: 2, CommonName: "kube-apiserver", NotBefore: now,
		NotAfter:    now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPs:         []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"}}, ca)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate service account key: %w", err)
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("marshal service account public key: %w", err)
	}
	p.caPEM = ca.CertPEM()
	files := map[string][]byte{
		p.CACert:      p.caPEM,
		p.ServingCert: srv.CertPEM(),
		p.SAKey:       pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}),
		p.SAPub:       pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub}),
	}
	for path, pair := range map[string]*testcert.Pair{p.CAKey: ca, p.ServingKey: srv} {
		if files[path], err = pair.KeyPEM(); err != nil {
			return nil, err
		}
	}
	for path, data := range files {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
	}
	return p, nil
}
