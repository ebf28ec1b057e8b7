package jobdef

import (
	"strings"
	"testing"
)

// TestParameterCheck: each type, enum and pattern refuses what it should,
// in one line naming the parameter, the value and what is allowed; a
// secret parameter's value is never echoed.
func TestParameterCheck(t *testing.T) {
	cases := []struct {
		p    Parameter
		ok   []string
		bad  []string
		want string
	}{
		{Parameter{Name: "N", Type: ParamInteger}, []string{"0", "-7", "42"}, []string{"", "1.5", "0x10", "ten", " 1"}, `invalid value %q for parameter "N": want an integer`},
		{Parameter{Name: "F", Type: ParamNumber}, []string{"3.14", "-1", "1e3"}, []string{"", "pi", "NaN", "Inf", "0x1p3", "1_000"}, `invalid value %q for parameter "F": want a number`},
		{Parameter{Name: "B", Type: ParamBoolean}, []string{"true", "false"}, []string{"", "yes", "True", "1"}, `invalid value %q for parameter "B": want true or false`},
		{Parameter{Name: "E", Enum: []string{"eu", "us"}}, []string{"eu", "us"}, []string{"", "EU", "asia"}, `invalid value %q for parameter "E": allowed: eu, us`},
		{Parameter{Name: "P", Pattern: `OPS-[0-9]+`}, []string{"OPS-1", "OPS-42"}, []string{"OPS-", "xOPS-1", "OPS-1x"}, `invalid value %q for parameter "P": must match OPS-[0-9]+`},
		{Parameter{Name: "S", Secret: true, Pattern: `[a-z]+`}, []string{"abc"}, []string{"ABC"}, `invalid value for secret parameter "S": must match [a-z]+`},
	}
	for _, tc := range cases {
		for _, v := range tc.ok {
			if err := tc.p.Check(v); err != nil {
				t.Errorf("%s: %q refused: %v", tc.p.Name, v, err)
			}
		}
		for _, v := range tc.bad {
			err := tc.p.Check(v)
			want := tc.want
			if strings.Contains(want, "%q") {
				want = strings.Replace(want, "%q", `"`+v+`"`, 1)
			}
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("%s: %q: %v, want %q", tc.p.Name, v, err, want)
			}
			if tc.p.Secret && err != nil && strings.Contains(err.Error(), v) {
				t.Errorf("secret value %q in the error %q", v, err)
			}
		}
	}
}

// TestTypedParameterDefinitions: defaults satisfy their own type at create
// time; bad types, enums and patterns are refused naming the field.
func TestTypedParameterDefinitions(t *testing.T) {
	for name, tc := range map[string]struct {
		p           Parameter
		field, want string
	}{
		"ok typed":         {Parameter{Name: "N", Type: ParamInteger, Default: "3", Description: "how many"}, "", ""},
		"ok required enum": {Parameter{Name: "E", Required: true, Enum: []string{"a", "b"}}, "", ""},
		"ok secret":        {Parameter{Name: "S", Secret: true, Required: true}, "", ""},
		"bad type":         {Parameter{Name: "N", Type: "int"}, "spec.parameters[0].type", `invalid type "int" for parameter "N"`},
		"default not int":  {Parameter{Name: "N", Type: ParamInteger, Default: "many"}, "spec.parameters[0].default", `the default does not fit: invalid value "many" for parameter "N": want an integer`},
		"no default int":   {Parameter{Name: "N", Type: ParamInteger}, "spec.parameters[0].default", "want an integer"},
		"default not enum": {Parameter{Name: "E", Enum: []string{"a"}, Default: "b"}, "spec.parameters[0].default", "allowed: a"},
		"enum wrong type":  {Parameter{Name: "N", Type: ParamInteger, Enum: []string{"1", "x"}, Default: "1"}, "spec.parameters[0].enum", "is not of its type"},
		"enum twice":       {Parameter{Name: "E", Enum: []string{"a", "a"}, Default: "a"}, "spec.parameters[0].enum", `allows "a" twice`},
		"bad pattern":      {Parameter{Name: "P", Pattern: "(", Default: "x"}, "spec.parameters[0].pattern", `invalid pattern "("`},
		"default no match": {Parameter{Name: "P", Pattern: "[0-9]+", Default: "x"}, "spec.parameters[0].default", "must match [0-9]+"},
	} {
		j := validJob()
		j.Spec.Parameters = []Parameter{tc.p}
		err := j.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || FieldOf(err) != tc.field):
			t.Errorf("%s: %v (field %q), want %q at %s", name, err, FieldOf(err), tc.want, tc.field)
		}
	}
}
