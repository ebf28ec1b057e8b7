package jobdef

import (
	"encoding/json"
	"strings"
	"testing"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// FuzzFromSecret: decoding a job Secret's definition (read back from the
// cluster, so untrusted) never panics and fails with a one-line error; a
// definition it accepts validates without panicking, and stores and
// decodes again to the same spec.
func FuzzFromSecret(f *testing.F) {
	full := validJob()
	fullSpec(full)
	for _, j := range []*Job{validJob(), full} {
		sec, err := ToSecret(j)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sec.Data[DataKey])
	}
	for _, seed := range []string{
		`{}`, `null`, `[]`, `{"spec":{}}`, `{"spec":{"image":"a","image":"b"}}`, `{"spec":{"IMAGE":"a"}}`,
		`{"spec":{"unknown":1}}`, `{"spec":{"retries":1e99}}`, `{"spec":{"files":[{"path":"/a","binaryContent":"!!"}]}}`,
		`{"spec":{"parameters":[{"name":"P","enum":["a"],"type":"integer"}]}}`,
		`{"spec":{"schedules":[{"name":"n","cron":"@every 0s","parameters":[{"name":"P","secretRef":{}}]}]}}`,
		`{"spec":{"schedules":[{"name":"n","cron":"* * * * *","timeZone":"Local"}]}}`,
		`{"spec":{"resources":{"memory":"1e100000"}}}`, `{"spec":{"timeout":"99999999999d"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sec, err := ToSecret(validJob())
		if err != nil {
			t.Fatal(err)
		}
		sec.Data[DataKey] = data
		j, err := FromSecret(sec)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if err := j.Validate(); err != nil && strings.ContainsAny(err.Error(), "\n\r") {
			t.Fatalf("validation error is not one line: %q", err)
		}
		again, err := ToSecret(j)
		if err != nil {
			if len(data) > MaxSecretBytes/2 || strings.Contains(err.Error(), "too large") {
				return
			}
			t.Fatalf("accepted %q does not store: %v", data, err)
		}
		back, err := FromSecret(again)
		if err != nil {
			t.Fatalf("stored %q of accepted %q does not decode: %v", again.Data[DataKey], data, err)
		}
		if !apiequality.Semantic.DeepEqual(back.Spec, j.Spec) {
			a, _ := json.Marshal(j.Spec)
			b, _ := json.Marshal(back.Spec)
			t.Fatalf("round trip changed the spec:\n got %s\nwant %s", b, a)
		}
	})
}
