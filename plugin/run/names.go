package run

import (
	"crypto/rand"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// nameEpoch starts the run-name clock; 6 base-36 digits of seconds since
// then last until 2094, so names sort by trigger time.
var nameEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// NewName returns a run name for job: "<job>-<6 base-36 digits of the
// trigger second><4 random base-36 digits>", at most 63 characters for jobs
// of up to 52. Names sort by trigger time and never repeat, also when a
// job is deleted and created again.
func NewName(job string, now time.Time) string {
	secs := max(int64(now.Sub(nameEpoch)/time.Second), 0)
	ts := strconv.FormatInt(secs, 36)
	ts = strings.Repeat("0", max(6-len(ts), 0)) + ts
	n, err := rand.Int(rand.Reader, big.NewInt(36*36*36*36))
	if err != nil {
		n = big.NewInt(now.UnixNano() % (36 * 36 * 36 * 36))
	}
	r := strconv.FormatInt(n.Int64(), 36)
	r = strings.Repeat("0", 4-len(r)) + r
	return job + "-" + ts + r
}

// TimeFromName returns the trigger second encoded in a run name.
func TimeFromName(name string) (time.Time, bool) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 || len(name)-i-1 != 10 {
		return time.Time{}, false
	}
	secs, err := strconv.ParseInt(name[i+1:i+7], 36, 64)
	if err != nil {
		return time.Time{}, false
	}
	return nameEpoch.Add(time.Duration(secs) * time.Second), true
}
