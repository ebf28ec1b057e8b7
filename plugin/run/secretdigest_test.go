package run

import (
	"strings"
	"testing"
)

func TestSecretDigestMatches(t *testing.T) {
	s := map[string]string{"A": "1", "B": "x"}
	d, err := secretDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(d, ":")
	cases := map[string]struct {
		digest  string
		secrets map[string]string
		want    bool
	}{
		"same":              {d, map[string]string{"B": "x", "A": "1"}, true},
		"other value":       {d, map[string]string{"A": "1", "B": "y"}, false},
		"values moved":      {d, map[string]string{"A": "1x", "B": ""}, false},
		"one more":          {d, map[string]string{"A": "1", "B": "x", "C": ""}, false},
		"none, no digest":   {"", nil, true},
		"none, a digest":    {d, nil, false},
		"some, no digest":   {"", s, false},
		"other version":     {"v2:" + parts[1] + ":" + parts[2], s, false},
		"garbage":           {"v1:!!:??", s, false},
		"short salt":        {"v1:AAAA:" + parts[2], s, false},
		"mac of other salt": {parts[0] + ":" + strings.Repeat("A", len(parts[1])) + ":" + parts[2], s, false},
	}
	for name, tc := range cases {
		if got := secretDigestMatches(tc.digest, tc.secrets); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
	if d2, _ := secretDigest(s); d2 == d {
		t.Errorf("two digests of the same values are equal: the salt is not fresh")
	}
	if d, _ := secretDigest(nil); d != "" {
		t.Errorf("digest of no secrets %q", d)
	}
}
