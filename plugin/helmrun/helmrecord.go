package helmrun

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Release records are written here, in the format of Helm's Secrets
// driver (the Secret type, its labels, base64 of the gzip of the release's
// JSON), which Helm's driver (ours, Helm's CLI) reads back. Helm's driver
// compresses each record with gzip.BestCompression and a new compressor:
// about 850 KB allocated and most of the hook server's CPU per trigger
// went to its three record writes (BENCHMARKS.md, "Hook throughput").
// Here the default level, with compressors reused.

// recordType is the Secret type of a Helm 3 release record.
const recordType corev1.SecretType = "helm.sh/release.v1"

var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// encodeRecord is a release as Helm's Secrets driver stores it: base64 of
// the gzip of its JSON.
func encodeRecord(r *release.Release) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode release %s: %w", r.Name, err)
	}
	var buf bytes.Buffer
	buf.Grow(len(b) / 3)
	w := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(w)
	w.Reset(&buf)
	if _, err := w.Write(b); err != nil {
		return nil, fmt.Errorf("compress release %s: %w", r.Name, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("compress release %s: %w", r.Name, err)
	}
	out := make([]byte, base64.StdEncoding.EncodedLen(buf.Len()))
	base64.StdEncoding.Encode(out, buf.Bytes())
	return out, nil
}

// recordSecret is the Secret of record key holding r, labelled as Helm's
// driver labels it: r's custom labels, the time label of the write
// (createdAt on a create, modifiedAt on an update: Helm keeps only the
// latest), then name, owner, status and version.
func recordSecret(key string, r *release.Release, timeLabel string) (*corev1.Secret, error) {
	data, err := encodeRecord(r)
	if err != nil {
		return nil, err
	}
	labels := make(map[string]string, len(r.Labels)+5)
	for k, v := range r.Labels {
		labels[k] = v
	}
	labels[timeLabel] = strconv.FormatInt(time.Now().Unix(), 10)
	labels["name"], labels["owner"], labels["version"] = r.Name, "helm", strconv.Itoa(r.Version)
	if r.Info != nil {
		labels["status"] = r.Info.Status.String()
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: key, Labels: labels}, Type: recordType,
		Data: map[string][]byte{"release": data}}, nil
}

// Create writes a new record (AlreadyExists: driver.ErrReleaseExists, as
// Helm's driver says it) and remembers it.
func (c *releaseCache) Create(key string, r *release.Release) error {
	sec, err := recordSecret(key, r, "createdAt")
	if err != nil {
		return err
	}
	if _, err := c.secrets.Create(context.Background(), sec, metav1.CreateOptions{}); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return driver.ErrReleaseExists
		}
		return fmt.Errorf("create release record %s: %w", key, err)
	}
	c.byKey[key] = r
	return nil
}

// Update writes a record and remembers it. The previous revision's record
// marked superseded (an upgrade's first record write once its Job exists)
// is written while the upgrade goes on to write its own record deployed:
// the two writes take one round trip, not two. Helm only logs a failure of
// that write (a record left deployed; Helm takes the newest of those), so
// its error is not returned here either; flush waits for it.
func (c *releaseCache) Update(key string, r *release.Release) error {
	sec, err := recordSecret(key, r, "modifiedAt")
	if err != nil {
		return err
	}
	if r.Info != nil && r.Info.Status == release.StatusSuperseded && key != c.secrets.createdName {
		c.byKey[key] = r
		sec = c.secrets.matching(sec)
		done := make(chan struct{})
		c.writing = append(c.writing, done)
		go func() {
			defer close(done)
			_, _ = c.secrets.SecretInterface.Update(context.Background(), sec, metav1.UpdateOptions{})
		}()
		return nil
	}
	if _, err := c.secrets.Update(context.Background(), sec, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update release record %s: %w", key, err)
	}
	c.byKey[key] = r
	return nil
}

// flush waits for the record writes Update left going on.
func (c *releaseCache) flush() {
	for _, done := range c.writing {
		<-done
	}
	c.writing = nil
}
