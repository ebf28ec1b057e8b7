package hookserver

import (
	"strings"
	"testing"
)

// TestHookParseTriggerBodyStrict is L1 of the security review: bodies
// encoding/json accepted leniently are 400s, with one-line errors naming
// the field.
func TestHookParseTriggerBodyStrict(t *testing.T) {
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
		"empty list":     {body: `{"instanceEnvironmentVariables":[]}`, params: map[string]string{}},
		"no value":       {body: `{"instanceEnvironmentVariables":[{"name":"A"}]}`, params: map[string]string{"A": ""}},
		"tab in value":   {body: `{"instanceEnvironmentVariables":[{"name":"A","value":"gr\u00fc\u00dfe \t"}]}`, wantErr: `instanceEnvironmentVariables[0].value: control character U+0009`},
		"escaped text":   {body: `{"instanceEnvironmentVariables":[{"name":"A","value":"gr\u00fc\u00dfe \"x\" \\ /"}]}`, params: map[string]string{"A": `grüße "x" \ /`}},
		"trailing space": {body: "{} \n", params: map[string]string{}},
		"not json":       {body: `imageTag=1`, wantErr: "malformed JSON body"},
		"truncated":      {body: `{"imageTag":`, wantErr: "malformed JSON body: unexpected EOF"},
		"trailing comma": {body: `{"imageTag":"1",}`, wantErr: "malformed JSON body"},
		"trailing data":  {body: `{}{}`, wantErr: "unexpected data after the JSON object"},
		"unknown field":  {body: `{"imageTags":"1"}`, wantErr: `unknown field "imageTags"`},
		"number value":   {body: `{"instanceEnvironmentVariables":[{"name":"A","value":1}]}`, wantErr: "instanceEnvironmentVariables[0].value must be a string, not number"},
		"object list":    {body: `{"instanceEnvironmentVariables":{"A":"1"}}`, wantErr: "instanceEnvironmentVariables must be an array, not object"},
		"empty name":     {body: `{"instanceEnvironmentVariables":[{"value":"1"}]}`, wantErr: "instanceEnvironmentVariables[0]: name is required"},
		"duplicate":      {body: `{"instanceEnvironmentVariables":[{"name":"A","value":"1"},{"name":"A","value":"2"}]}`, wantErr: `"A" is given twice`},
		"array body":     {body: `[]`, wantErr: "malformed JSON body: the body must be an object, not array"},
		"deep nesting":   {body: `{"imageTag":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, wantErr: "imageTag must be a string, not array"},
		"not UTF-8":      {body: "{\"imageTag\":\"\xff\"}", wantErr: "not valid UTF-8"},
		// L1 (security review 2026-11-30): case, duplicates, null, control characters.
		"upper-case key":          {body: `{"IMAGETAG":"1"}`, wantErr: `unknown field "IMAGETAG" (names are case-sensitive`},
		"mixed-case key":          {body: `{"ImageTag":"1"}`, wantErr: `unknown field "ImageTag"`},
		"upper-case list":         {body: `{"INSTANCEENVIRONMENTVARIABLES":[]}`, wantErr: `unknown field "INSTANCEENVIRONMENTVARIABLES"`},
		"upper-case item key":     {body: `{"instanceEnvironmentVariables":[{"NAME":"A","value":"b"}]}`, wantErr: `instanceEnvironmentVariables[0]: unknown field "NAME"`},
		"duplicate tag":           {body: `{"imageTag":"good","imageTag":"evil"}`, wantErr: `the body: duplicate field "imageTag"`},
		"duplicate list":          {body: `{"instanceEnvironmentVariables":[],"instanceEnvironmentVariables":[]}`, wantErr: `duplicate field "instanceEnvironmentVariables"`},
		"duplicate item name":     {body: `{"instanceEnvironmentVariables":[{"name":"A","name":"B","value":"x"}]}`, wantErr: `instanceEnvironmentVariables[0]: duplicate field "name"`},
		"duplicate item value":    {body: `{"instanceEnvironmentVariables":[{"name":"A","value":"x","value":"y"}]}`, wantErr: `instanceEnvironmentVariables[0]: duplicate field "value"`},
		"null body":               {body: `null`, wantErr: "the body must be an object, not null"},
		"null tag":                {body: `{"imageTag":null}`, wantErr: "imageTag must be a string, not null"},
		"null list":               {body: `{"instanceEnvironmentVariables":null}`, wantErr: "instanceEnvironmentVariables must be an array, not null"},
		"null item":               {body: `{"instanceEnvironmentVariables":[null]}`, wantErr: "instanceEnvironmentVariables[0] must be an object, not null"},
		"null value":              {body: `{"instanceEnvironmentVariables":[{"name":"REQ","value":null}]}`, wantErr: "instanceEnvironmentVariables[0].value must be a string, not null"},
		"null name":               {body: `{"instanceEnvironmentVariables":[{"name":null,"value":"1"}]}`, wantErr: "instanceEnvironmentVariables[0].name must be a string, not null"},
		"NUL in value":            {body: `{"instanceEnvironmentVariables":[{"name":"A","value":"a\u0000b"}]}`, wantErr: "instanceEnvironmentVariables[0].value: control character U+0000 is not allowed"},
		"newline in value":        {body: `{"instanceEnvironmentVariables":[{"name":"A","value":"a\nb"}]}`, wantErr: "control character U+000A"},
		"DEL in tag":              {body: "{\"imageTag\":\"a\x7f\"}", wantErr: "imageTag: control character U+007F"},
		"C1 in name":              {body: `{"instanceEnvironmentVariables":[{"name":"A\u0085","value":"1"}]}`, wantErr: "instanceEnvironmentVariables[0].name: control character U+0085"},
		"escape in key":           {body: `{"image\u0000Tag":"1"}`, wantErr: "the body: field name: control character U+0000"},
		"long unknown key quoted": {body: `{"` + strings.Repeat("k", 1000) + `":1}`, wantErr: `unknown field "` + strings.Repeat("k", 64) + `"…`},
	} {
		t.Run(name, func(t *testing.T) {
			body, err := ParseTriggerBody([]byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.ContainsAny(err.Error(), "\n\r") || len(err.Error()) > 300 {
					t.Fatalf("error = %v, want one line with %q", err, tc.wantErr)
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
