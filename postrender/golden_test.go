package postrender

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func ttlOf(d time.Duration) *time.Duration { return &d }

var (
	keepTTL = Options{Keep: true, TTL: ttlOf(336 * time.Hour)}
	hourTTL = Options{Keep: true, TTL: ttlOf(time.Hour)}
)

// goldenCases maps each golden file testdata/NAME.golden.yaml to the input
// testdata/INPUT.in.yaml and the options that produce it.
var goldenCases = []struct {
	name, input string
	opts        Options
}{
	{"helm3-stream", "helm3-stream", keepTTL},
	{"helm4-stream", "helm4-stream", keepTTL},
	{"existing-values", "existing-values", hourTTL},
	{"existing-values-override", "existing-values", Options{Keep: true, TTL: ttlOf(time.Hour), Override: true}},
	{"cronjob-off", "cronjob", keepTTL},
	{"cronjob-on", "cronjob", Options{Keep: true, TTL: ttlOf(time.Hour), CronJobs: true}},
	{"cronjob-on-override", "cronjob", Options{Keep: true, TTL: ttlOf(time.Hour), CronJobs: true, Override: true}},
	{"list", "list", Options{Keep: true, TTL: ttlOf(time.Hour), CronJobs: true}},
	{"non-job", "non-job", keepTTL},
	{"flow-style", "flow-style", keepTTL},
	{"block-scalars", "block-scalars", keepTTL},
	{"seq-indent", "seq-indent", keepTTL},
	{"crlf", "crlf", keepTTL},
	{"empty-docs", "empty-docs", keepTTL},
	{"other-apiversions", "other-apiversions", Options{Keep: true, TTL: ttlOf(time.Hour), CronJobs: true}},
	{"markers", "markers", keepTTL},
	{"anchors", "anchors", keepTTL},
	{"no-final-newline", "no-final-newline", keepTTL},
	{"keep-only", "helm3-stream", Options{Keep: true}},
	{"ttl-only", "helm3-stream", Options{TTL: ttlOf(90 * time.Minute)}},
	{"zero-ttl", "helm4-stream", Options{TTL: ttlOf(0)}},
	{"no-op", "helm3-stream", Options{}},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			in := readFile(t, filepath.Join("testdata", tc.input+".in.yaml"))
			got, err := Process(in, tc.opts)
			if err != nil {
				t.Fatalf("Process: %v", err)
			}
			golden := filepath.Join("testdata", tc.name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if want := readFile(t, golden); !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run go test -update to rewrite)\n--- got ---\n%s", golden, got)
			}
			// A second run finds every value in place and changes nothing.
			again, err := Process(got, tc.opts)
			if err != nil {
				t.Fatalf("Process(output): %v", err)
			}
			if !bytes.Equal(again, got) {
				t.Errorf("not idempotent\n--- second run ---\n%s", again)
			}
			// Every document that is not a Job, CronJob or List is unchanged.
			checkSemantics(t, in, got, tc.opts)
		})
	}
}

// Inputs without Jobs come out byte for byte.
func TestGoldenUnchanged(t *testing.T) {
	for _, name := range []string{"non-job", "other-apiversions"} {
		in := readFile(t, filepath.Join("testdata", name+".in.yaml"))
		got, err := Process(in, keepTTL)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, in) {
			t.Errorf("%s: output differs from input:\n%s", name, got)
		}
	}
	in := readFile(t, filepath.Join("testdata", "helm3-stream.in.yaml"))
	if got, err := Process(in, Options{}); err != nil || !bytes.Equal(got, in) {
		t.Errorf("zero Options changed the input (err %v):\n%s", err, got)
	}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
