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

// NewName returns a run name for job: "<job>-<7 base-36 digits of the
// trigger time in tenths of a second><3 random base-36 digits>", at most 63
// characters for jobs of up to 52. Names sort by trigger time (triggers of
// one job are serialized) and do not repeat, also when a job is deleted and
// created again.
func NewName(job string, now time.Time) string {
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
