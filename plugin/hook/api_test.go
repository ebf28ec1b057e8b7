package hook

import (
	"strings"
	"testing"
)

func TestHookParseTriggerBody(t *testing.T) {
	for name, tc := range map[string]struct {
		body    string
		params  map[string]string
		tag     string
		wantErr string
	}{
		"shipmight job":  {body: `{"instanceEnvironmentVariables":[{"name":"EXAMPLE_VAR","value":"example"}]}`, params: map[string]string{"EXAMPLE_VAR": "example"}},
		"shipmight app":  {body: `{"imageTag":"1.2.0"}`, tag: "1.2.0", params: map[string]string{}},
		"both":           {body: `{"imageTag":"v2","instanceEnvironmentVariables":[{"name":"A","value":""},{"name":"B","value":"x y"}]}`, tag: "v2", params: map[string]string{"A": "", "B": "x y"}},
		"empty object":   {body: `{}`, params: map[string]string{}},
		"null":           {body: `null`, params: map[string]string{}},
		"trailing space": {body: "{} \n", params: map[string]string{}},
		"not json":       {body: `imageTag=1`, wantErr: "malformed JSON body"},
		"truncated":      {body: `{"imageTag":`, wantErr: "malformed JSON body"},
		"trailing data":  {body: `{}{}`, wantErr: "unexpected data after the JSON object"},
		"unknown field":  {body: `{"imageTags":"1"}`, wantErr: `unknown field "imageTags"`},
		"number value":   {body: `{"instanceEnvironmentVariables":[{"name":"A","value":1}]}`, wantErr: "instanceEnvironmentVariables.value must be a string, not number"},
		"object list":    {body: `{"instanceEnvironmentVariables":{"A":"1"}}`, wantErr: "instanceEnvironmentVariables must be an array, not object"},
		"empty name":     {body: `{"instanceEnvironmentVariables":[{"value":"1"}]}`, wantErr: "instanceEnvironmentVariables[0]: name is required"},
		"duplicate":      {body: `{"instanceEnvironmentVariables":[{"name":"A","value":"1"},{"name":"A","value":"2"}]}`, wantErr: `"A" is given twice`},
		"array body":     {body: `[]`, wantErr: "malformed JSON body"},
	} {
		t.Run(name, func(t *testing.T) {
			body, err := ParseTriggerBody([]byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, v := range body.InstanceEnvironmentVariables {
				got[v.Name] = v.Value
			}
			if len(got) != len(tc.params) || body.ImageTag != tc.tag {
				t.Fatalf("got %v tag %q, want %v tag %q", got, body.ImageTag, tc.params, tc.tag)
			}
			for k, v := range tc.params {
				if got[k] != v {
					t.Fatalf("param %s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}
