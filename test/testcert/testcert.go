// Package testcert makes test certificates: a self-signed serving
// certificate for 127.0.0.1 written the way a rotation writes it, the
// serial a TLS server presents, and the key material of a small PKI (a CA
// and the certificates it signs). It is for tests and test clusters only.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Template describes a certificate to make.
type Template struct {
	Serial      int64
	CommonName  string
	IPs         []net.IP
	DNSNames    []string
	NotBefore   time.Time
	NotAfter    time.Time
	IsCA        bool
	KeyUsage    x509.KeyUsage
	ExtKeyUsage []x509.ExtKeyUsage
}

// Pair is a certificate and its private key.
type Pair struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// New makes a P-256 key and a certificate from tmpl, signed by parent, or
// self-signed when parent is nil.
func New(tmpl Template, parent *Pair) (*Pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	c := &x509.Certificate{SerialNumber: big.NewInt(tmpl.Serial), Subject: pkix.Name{CommonName: tmpl.CommonName},
		NotBefore: tmpl.NotBefore, NotAfter: tmpl.NotAfter, IPAddresses: tmpl.IPs, DNSNames: tmpl.DNSNames,
		KeyUsage: tmpl.KeyUsage, ExtKeyUsage: tmpl.ExtKeyUsage, BasicConstraintsValid: tmpl.IsCA, IsCA: tmpl.IsCA}
	signer, signerKey := c, key
	if parent != nil {
		signer, signerKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, c, signer, &key.PublicKey, signerKey)
	if err != nil {
		return nil, fmt.Errorf("create certificate %s: %w", tmpl.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate %s: %w", tmpl.CommonName, err)
	}
	return &Pair{Cert: cert, Key: key}, nil
}

// CertPEM is the certificate, PEM-encoded.
func (p *Pair) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Cert.Raw})
}

// KeyPEM is the private key, PEM-encoded (SEC 1).
func (p *Pair) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(p.Key)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// Serving is the template of a self-signed serving certificate for
// 127.0.0.1, valid from an hour ago for two hours.
func Serving(serial int64) Template {
	now := time.Now()
	return Template{Serial: serial, CommonName: "shipjob-hooks", IPs: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
}

// Rotate writes a new self-signed serving certificate for 127.0.0.1 with
// serial to dir/tls.crt and dir/tls.key the way a rotation does (each file
// written beside the old one and renamed over it) and returns it. The files'
// times are set serial seconds ahead, so that a rotation within the file
// system's timestamp granularity still shows as a change.
func Rotate(dir string, serial int64) (*x509.Certificate, error) {
	p, err := New(Serving(serial), nil)
	if err != nil {
		return nil, err
	}
	key, err := p.KeyPEM()
	if err != nil {
		return nil, err
	}
	later := time.Now().Add(time.Duration(serial) * time.Second)
	for _, f := range []struct {
		name string
		data []byte
	}{{"tls.key", key}, {"tls.crt", p.CertPEM()}} {
		tmp := filepath.Join(dir, "."+f.name)
		if err := os.WriteFile(tmp, f.data, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", f.name, err)
		}
		if err := os.Chtimes(tmp, later, later); err != nil {
			return nil, fmt.Errorf("touch %s: %w", f.name, err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, f.name)); err != nil {
			return nil, fmt.Errorf("rename %s: %w", f.name, err)
		}
	}
	return p.Cert, nil
}

// TB is the part of testing.TB that MustRotate uses.
type TB interface {
	Helper()
	Fatal(args ...any)
}

// MustRotate is Rotate that fails the test on an error.
func MustRotate(t TB, dir string, serial int64) *x509.Certificate {
	t.Helper()
	cert, err := Rotate(dir, serial)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// Pool is a certificate pool of exactly trust.
func Pool(trust ...*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range trust {
		pool.AddCert(c)
	}
	return pool
}

// Client is an HTTPS client that trusts only trust and makes a new
// connection per request, so that each request sees the certificate the
// server presents now.
func Client(trust ...*x509.Certificate) *http.Client {
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: Pool(trust...), MinVersion: tls.VersionTLS12}}}
}

// ServedSerial makes a new TLS connection to addr that trusts only trust
// and returns the serial of the certificate the server presents.
func ServedSerial(addr string, trust ...*x509.Certificate) (string, error) {
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: Pool(trust...), MinVersion: tls.VersionTLS12})
	if err != nil {
		return "", fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
}
