package hookserver

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

// FuzzParseTriggerBody: ParseTriggerBody never panics; what it accepts
// re-encodes and parses to the same value, means the same to
// encoding/json, and carries no control characters (L1).
func FuzzParseTriggerBody(f *testing.F) {
	for _, seed := range []string{
		`{}`, `null`, `[]`, `{"imageTag":"1.2.0"}`,
		`{"instanceEnvironmentVariables":[{"name":"EXAMPLE_VAR","value":"example"}]}`,
		`{"imageTag":"v2","instanceEnvironmentVariables":[{"name":"A","value":""},{"name":"B","value":"x y"}]}`,
		`{"IMAGETAG":"1"}`, `{"imageTag":"good","imageTag":"evil"}`,
		`{"instanceEnvironmentVariables":[{"name":"A","name":"B","value":"x"}]}`,
		`{"instanceEnvironmentVariables":[{"name":"REQ","value":null}]}`,
		`{"instanceEnvironmentVariables":[{"name":"A","value":"a\u0000b"}]}`,
		`{"imageTag":"\ud800"}`, `{"imageTag":"a\u2028b\u00e9"}`, "{\"imageTag\":\"\xff\"}",
		`{"instanceEnvironmentVariables":[{"name":"A","value":1},{}]}`, `{"imageTag":[[[[]]]]}`, `{} {}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		body, err := ParseTriggerBody(data)
		if err != nil {
			if msg := err.Error(); strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error is not one line: %q", msg)
			}
			return
		}
		strs := []string{body.ImageTag}
		for _, v := range body.InstanceEnvironmentVariables {
			strs = append(strs, v.Name, v.Value)
		}
		for _, s := range strs {
			if strings.IndexFunc(s, unicode.IsControl) >= 0 {
				t.Fatalf("accepted a control character: %q in %q", s, data)
			}
		}
		again, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		body2, err := ParseTriggerBody(again)
		if err != nil {
			t.Fatalf("re-encoded %q of accepted %q rejected: %v", again, data, err)
		}
		if !reflect.DeepEqual(body, body2) {
			t.Fatalf("re-parse differs: %+v vs %+v", body, body2)
		}
		// encoding/json (the lenient reader) must read the same value.
		var std TriggerBody
		err = json.Unmarshal(data, &std)
		if len(std.InstanceEnvironmentVariables) == 0 {
			std.InstanceEnvironmentVariables = nil // [] and absent are the same
		}
		if err != nil || !reflect.DeepEqual(&std, body) {
			t.Fatalf("encoding/json reads %q as %+v (%v), we as %+v", data, std, err, body)
		}
	})
}
