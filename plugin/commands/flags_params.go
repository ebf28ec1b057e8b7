package commands

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// paramTypeFlags describe parameters further: their type, allowed values,
// pattern, description, and whether they are secret. Each names a
// parameter the definition has (or that --param/--required-param adds).
type paramTypeFlags struct {
	ParamTypes, ParamEnums, ParamPatterns, ParamDescriptions, SecretParams []string
}

func (f *jobFlags) addParamTypeFlags(fs *pflag.FlagSet) {
	stringArrayVar(fs, &f.ParamTypes, "param-type", "", "Type of a parameter NAME=TYPE: string, integer, number or boolean (repeatable)")
	stringArrayVar(fs, &f.ParamEnums, "param-enum", "", "Allowed values of a parameter NAME=a,b,c (repeatable; NAME= allows any)")
	stringArrayVar(fs, &f.ParamPatterns, "param-pattern", "", "Regular expression (RE2) the whole value of a parameter must match, NAME=REGEX (repeatable)")
	stringArrayVar(fs, &f.ParamDescriptions, "param-description", "", "What a parameter is for, NAME=TEXT (repeatable)")
	stringArrayVar(fs, &f.SecretParams, "secret-param", "", "Make parameter NAME secret: its values reach the container from the run's own Secret and are shown as <secret> (repeatable; NAME=false to undo)")
}

// withDefault is parameter name of ps (or a new one) with its default and
// required set, its other fields kept.
func withDefault(ps []jobdef.Parameter, name, def string, required bool) jobdef.Parameter {
	p := jobdef.Parameter{Name: name}
	for _, old := range ps {
		if old.Name == name {
			p = old
		}
	}
	p.Default, p.Required = def, required
	return p
}

// applyParamTypes sets the typed fields of s's parameters.
func (f *jobFlags) applyParamTypes(s *jobdef.Spec) error {
	find := func(flag, name string) (*jobdef.Parameter, error) {
		for i := range s.Parameters {
			if s.Parameters[i].Name == name {
				return &s.Parameters[i], nil
			}
		}
		return nil, fmt.Errorf("%s %s: the job has no parameter %q (add it with --param or --required-param)", flag, name, name)
	}
	set := func(flag, want string, values []string, apply func(*jobdef.Parameter, string)) error {
		seen := seenSet{}
		for _, kv := range values {
			k, v, err := splitPair(flag, want, kv)
			if err == nil {
				err = seen.add(flag+" for parameter", k)
			}
			if err != nil {
				return err
			}
			p, err := find(flag, k)
			if err != nil {
				return err
			}
			apply(p, v)
		}
		return nil
	}
	if err := set("--param-type", "NAME=TYPE", f.ParamTypes, func(p *jobdef.Parameter, v string) {
		p.Type = v
		if v == jobdef.ParamString {
			p.Type = ""
		}
	}); err != nil {
		return err
	}
	if err := set("--param-enum", "NAME=a,b,c", f.ParamEnums, func(p *jobdef.Parameter, v string) {
		p.Enum = nil
		if v != "" {
			p.Enum = strings.Split(v, ",")
		}
	}); err != nil {
		return err
	}
	if err := set("--param-pattern", "NAME=REGEX", f.ParamPatterns, func(p *jobdef.Parameter, v string) { p.Pattern = v }); err != nil {
		return err
	}
	if err := set("--param-description", "NAME=TEXT", f.ParamDescriptions, func(p *jobdef.Parameter, v string) { p.Description = v }); err != nil {
		return err
	}
	seen := seenSet{}
	for _, name := range f.SecretParams {
		secret := true
		if n, v, ok := strings.Cut(name, "="); ok {
			if v != "true" && v != "false" {
				return fmt.Errorf("invalid --secret-param %q: want NAME, NAME=true or NAME=false", name)
			}
			name, secret = n, v == "true"
		}
		if err := seen.add("--secret-param for parameter", name); err != nil {
			return err
		}
		p, err := find("--secret-param", name)
		if err != nil {
			return err
		}
		p.Secret = secret
	}
	return nil
}
