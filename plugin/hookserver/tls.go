package hookserver

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certReloader serves a certificate and key from files and re-reads them
// when either file changes (modification time or size), so a rotated
// certificate (cert-manager, a re-mounted Secret volume, whose files are
// swapped atomically through a symlink) is served on the next handshake
// without a restart. A pair that does not load (a half-written rotation)
// is logged once and the previous certificate is kept until the files
// change again.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu     sync.Mutex
	cert   *tls.Certificate
	stamps [2]fileStamp // of the certificate last tried
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size()}
}

// newCertReloader loads the pair once; an error is the caller's to report.
func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	c.stamps = [2]fileStamp{stampOf(certFile), stampOf(keyFile)}
	cert, err := loadPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	c.cert = cert
	return c, nil
}

func loadPair(certFile, keyFile string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	if cert.Leaf == nil && len(cert.Certificate) > 0 {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("parse TLS certificate %s: %w", certFile, err)
		}
	}
	return &cert, nil
}

// GetCertificate is tls.Config.GetCertificate: two stat calls per
// handshake, a reload when a file changed.
func (c *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := [2]fileStamp{stampOf(c.certFile), stampOf(c.keyFile)}
	if now == c.stamps {
		return c.cert, nil
	}
	c.stamps = now
	cert, err := loadPair(c.certFile, c.keyFile)
	if err != nil {
		c.log.Warn("TLS certificate not reloaded: serving the previous one", "error", err.Error())
		return c.cert, nil
	}
	c.cert = cert
	c.log.Info("TLS certificate reloaded", "serial", cert.Leaf.SerialNumber.String(),
		"not_after", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	return c.cert, nil
}

// tlsConfig is the server's TLS configuration over r.
func (c *certReloader) tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.GetCertificate}
}
