package console

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// certReloader serves the certificate of its files, re-read when either
// file changes (rotation without a restart), checked at most once a second.
type certReloader struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string
	checked time.Time
}

func fileStamp(paths ...string) string {
	s := ""
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return ""
		}
		s += fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return s
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cert != nil && time.Since(r.checked) < time.Second {
		return r.cert, nil
	}
	r.checked = time.Now()
	stamp := fileStamp(r.certFile, r.keyFile)
	if r.cert != nil && (stamp == r.stamp || stamp == "") {
		return r.cert, nil
	}
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		if r.cert != nil {
			return r.cert, nil // mid-rotation: keep the last good pair
		}
		return nil, fmt.Errorf("console TLS: %w", err)
	}
	r.cert, r.stamp = &c, stamp
	return r.cert, nil
}
