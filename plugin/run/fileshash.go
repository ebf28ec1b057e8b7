package run

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
)

// filesHashLen is how many hex digits of the SHA-256 name a files Secret.
const filesHashLen = 10

// filesHash is the content address of a files Secret's data: the first 10
// hex digits of a SHA-256 over its keys and values (each length-prefixed,
// in key order), so equal files give equal names and any change another.
func filesHash(data map[string][]byte) string {
	h := sha256.New()
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var n [8]byte
	for _, k := range keys {
		for _, b := range [][]byte{[]byte(k), data[k]} {
			binary.BigEndian.PutUint64(n[:], uint64(len(b)))
			h.Write(n[:])
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:filesHashLen]
}
