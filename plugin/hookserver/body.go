package hookserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// The trigger body is read token by token (encoding/json's Decoder.Token)
// against its small schema rather than with json.Unmarshal, which matches
// field names case-insensitively, lets a repeated key win silently and
// turns null into "". Here:
//   - field names are case-sensitive and unknown ones are errors;
//   - a key given twice in one object is an error (a WAF or log reading
//     the first value must not be misled);
//   - null is an error, as the whole body or as any value;
//   - strings must be valid UTF-8 without control characters (C0, DEL,
//     C1: a NUL in an env value makes the container runtime refuse the
//     run; others forge log lines);
//   - parameter names must be non-empty and distinct.
//
// Nesting is bounded by the schema: anything deeper is a type error at its
// first token.
const (
	fieldEnv   = "instanceEnvironmentVariables"
	fieldTag   = "imageTag"
	fieldName  = "name"
	fieldValue = "value"
)

// ParseTriggerBody decodes and checks a trigger's JSON body strictly (see
// above). Errors are one line and name the field.
func ParseTriggerBody(data []byte) (*TriggerBody, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("malformed JSON body: not valid UTF-8")
	}
	p := &bodyParser{dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	body, err := p.body()
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, errors.New("malformed JSON body: unexpected data after the JSON object")
	}
	return body, nil
}

type bodyParser struct{ dec *json.Decoder }

func (p *bodyParser) body() (*TriggerBody, error) {
	body := &TriggerBody{}
	err := p.object("the body", func(key string) error {
		switch key {
		case fieldTag:
			s, err := p.str(fieldTag)
			body.ImageTag = s
			return err
		case fieldEnv:
			vars, err := p.envVars()
			body.InstanceEnvironmentVariables = vars
			return err
		}
		return fmt.Errorf("malformed JSON body: unknown field %s (names are case-sensitive: %s, %s)", quote(key), fieldEnv, fieldTag)
	})
	if err != nil {
		return nil, err
	}
	return body, nil
}

func (p *bodyParser) envVars() ([]EnvVar, error) {
	if err := p.open('[', fieldEnv, "an array"); err != nil {
		return nil, err
	}
	var vars []EnvVar
	seen := map[string]bool{}
	for i := 0; p.dec.More(); i++ {
		at := fieldEnv + "[" + strconv.Itoa(i) + "]"
		var v EnvVar
		hasName := false
		err := p.object(at, func(key string) error {
			var err error
			switch key {
			case fieldName:
				v.Name, err = p.str(at + "." + fieldName)
				hasName = true
			case fieldValue:
				v.Value, err = p.str(at + "." + fieldValue)
			default:
				err = fmt.Errorf("malformed JSON body: %s: unknown field %s (names are case-sensitive: name, value)", at, quote(key))
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		switch {
		case !hasName || v.Name == "":
			return nil, fmt.Errorf("%s: name is required", at)
		case seen[v.Name]:
			return nil, fmt.Errorf("%s: %s is given twice", fieldEnv, quote(v.Name))
		}
		seen[v.Name] = true
		vars = append(vars, v)
	}
	_, err := p.dec.Token() // ']'
	if err != nil {
		return nil, syntaxErr(err)
	}
	return vars, nil
}

// object reads a JSON object at path, calling field for each key with the
// decoder before its value; a key given twice is an error.
func (p *bodyParser) object(path string, field func(key string) error) error {
	if err := p.open('{', path, "an object"); err != nil {
		return err
	}
	seen := map[string]bool{}
	for p.dec.More() {
		t, err := p.dec.Token()
		if err != nil {
			return syntaxErr(err)
		}
		key, _ := t.(string) // object keys are always strings
		if seen[key] {
			return fmt.Errorf("malformed JSON body: %s: duplicate field %s", path, quote(key))
		}
		seen[key] = true
		if err := checkText(key, path+": field name"); err != nil {
			return err
		}
		if err := field(key); err != nil {
			return err
		}
	}
	_, err := p.dec.Token() // '}'
	return syntaxErr(err)
}

// open reads the opening delimiter of path's value.
func (p *bodyParser) open(d json.Delim, path, want string) error {
	t, err := p.dec.Token()
	if err != nil {
		return syntaxErr(err)
	}
	if t != d {
		return fmt.Errorf("malformed JSON body: %s must be %s, not %s", path, want, kind(t))
	}
	return nil
}

// str reads path's value, a string without control characters.
func (p *bodyParser) str(path string) (string, error) {
	t, err := p.dec.Token()
	if err != nil {
		return "", syntaxErr(err)
	}
	s, ok := t.(string)
	if !ok {
		return "", fmt.Errorf("malformed JSON body: %s must be a string, not %s", path, kind(t))
	}
	return s, checkText(s, path)
}

// checkText rejects control characters (the decoder has replaced invalid
// UTF-8 and lone surrogates with U+FFFD already).
func checkText(s, path string) error {
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("malformed JSON body: %s: control character %U is not allowed", path, r)
		}
	}
	return nil
}

func syntaxErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("malformed JSON body: %w", err)
}

// kind names a token's JSON type for errors.
func kind(t json.Token) string {
	switch v := t.(type) {
	case nil:
		return "null"
	case json.Delim:
		if v == '{' {
			return "object"
		}
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	return fmt.Sprintf("%T", t)
}

// quote is %q of at most 64 bytes of s: error messages echo field names
// the caller chose.
func quote(s string) string {
	if len(s) <= 64 {
		return strconv.Quote(s)
	}
	cut := 64
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}
