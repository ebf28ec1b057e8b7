package run

import (
	"crypto/rand"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// nameEpoch starts the run-name clock; 7 base-36 digits of tenths of a
// second since then last 248 years, so names sort by trigger time.
var nameEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// newName returns a run name for job: "<job>-<7 base-36 digits of the
// trigger time in tenths of a second><3 random base-36 digits>", at most 63
// characters for jobs of up to 52. Names sort by trigger time (triggers of
// one job are serialized) and do not repeat, also when a job is deleted and
// created again.
func newName(job string, now time.Time) string {
	ds := max(int64(now.Sub(nameEpoch)/(100*time.Millisecond)), 0)
	ts := strconv.FormatInt(ds, 36)
	ts = strings.Repeat("0", max(7-len(ts), 0)) + ts
	n, err := rand.Int(rand.Reader, big.NewInt(36*36*36))
	if err != nil {
		n = big.NewInt(now.UnixNano() % (36 * 36 * 36))
	}
	r := strconv.FormatInt(n.Int64(), 36)
	r = strings.Repeat("0", 3-len(r)) + r
	return job + "-" + ts + r
}

// A run's Secrets. Files are content-addressed: every run whose files have
// the same content mounts the one Secret FilesSecretName(job, hash), owned
// by all of them; secret parameter values are in the run's own Secret
// ParamsSecretName(run). Runs made before that had one Secret of their own
// for both, LegacyRunSecretName(run).

// FilesSecretName is the name of job's files Secret for files whose
// content hashes to hash (filesHash).
func FilesSecretName(job, hash string) string { return job + "-files-" + hash }

// ParamsSecretName is the name of run's own Secret holding the values of
// its secret parameters (key SecretParamKey(name)).
func ParamsSecretName(runName string) string { return runName + "-params" }

// LegacyRunSecretName is the Secret of a run made before files were
// shared: it held the run's files and its secret parameter values.
func LegacyRunSecretName(runName string) string { return runName + "-files" }

// IsFilesSecretName reports whether name can be the files Secret of a run
// of job named runName: the shared, content-addressed one, or the run's
// legacy one.
func IsFilesSecretName(job, runName, name string) bool {
	hash, ok := strings.CutPrefix(name, job+"-files-")
	return name == LegacyRunSecretName(runName) || (ok && len(hash) == filesHashLen && strings.Trim(hash, "0123456789abcdef") == "")
}
