package postrender

import (
	"errors"
	"testing"
	"time"
)

func TestParseTTL(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		none bool
	}{
		{in: "none", none: true},
		{in: " NONE ", none: true},
		{in: "0", want: 0},
		{in: "3600", want: time.Hour},
		{in: "336h", want: 336 * time.Hour},
		{in: "90m", want: 90 * time.Minute},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "45s", want: 45 * time.Second},
		{in: "2000ms", want: 2 * time.Second},
		{in: "14d", want: 14 * 24 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "0d", want: 0},
		{in: "2147483647", want: MaxTTL},
	}
	for _, tc := range tests {
		got, err := ParseTTL(tc.in)
		switch {
		case err != nil:
			t.Errorf("ParseTTL(%q): %v", tc.in, err)
		case tc.none && got != nil:
			t.Errorf("ParseTTL(%q) = %v, want nil", tc.in, *got)
		case !tc.none && (got == nil || *got != tc.want):
			t.Errorf("ParseTTL(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseTTLErrors(t *testing.T) {
	for _, in := range []string{
		"", " ", "-1", "-5m", "-1d", "1.5s", "1500ms", "abc", "d", "1d-2h", "1dx", "2d3d",
		"1w", "2147483648", "99999999999999999999", "24856d", "24855d12h", "1d2562047h", "h",
	} {
		got, err := ParseTTL(in)
		if err == nil {
			t.Errorf("ParseTTL(%q) = %v, want an error", in, *got)
			continue
		}
		if !errors.Is(err, ErrInvalidTTL) {
			t.Errorf("ParseTTL(%q) error %q does not wrap ErrInvalidTTL", in, err)
		}
		if got != nil {
			t.Errorf("ParseTTL(%q) returned a value with the error", in)
		}
	}
}

// The annotation value written by Process parses back to the same TTL.
func TestTTLAnnotationRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{0, time.Second, 90 * time.Minute, 14 * 24 * time.Hour, MaxTTL} {
		got, err := ParseTTL(d.String())
		if err != nil || got == nil || *got != d {
			t.Errorf("ParseTTL(%q) = %v, %v; want %v", d.String(), got, err, d)
		}
	}
}
