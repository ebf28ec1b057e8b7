package ui

import (
	"net/http"
	"strconv"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// runForm is the Run tab's content.
type runForm struct {
	Params []paramInput
	Tag    string
	// TagAllowed is false for a digest-pinned job without allowTagOverride.
	TagAllowed bool
}

type paramInput struct {
	Name, Value string
	Required    bool
	Error       string
	// From the parameter's type: a choice of values, a secret input, and
	// the hint shown under the field.
	Enum   []string
	Secret bool
	// Kind is the input: "select" (Enum), "checkbox" (a boolean),
	// "integer", "number", "password" (a secret) or "text".
	Kind        string
	Description string
	Hint        string
}

// inputKind is the input a parameter gets on the Run tab.
func inputKind(prm jobdef.Parameter) string {
	switch {
	case len(prm.Enum) > 0:
		return "select"
	case prm.Secret:
		return "password"
	case prm.TypeName() == jobdef.ParamBoolean:
		return "checkbox"
	case prm.TypeName() == jobdef.ParamInteger || prm.TypeName() == jobdef.ParamNumber:
		return prm.TypeName()
	}
	return "text"
}

func newRunForm(j *jobdef.Job) runForm {
	f := runForm{TagAllowed: j.Spec.Digest == "" || j.Spec.AllowTagOverride}
	for _, prm := range j.Spec.Parameters {
		in := paramInput{Name: prm.Name, Value: prm.Default, Required: prm.Required, Enum: prm.Enum,
			Secret: prm.Secret, Description: prm.Description}
		in.Kind = inputKind(prm)
		switch {
		case prm.TypeName() != jobdef.ParamString && prm.TypeName() != jobdef.ParamBoolean:
			in.Hint = "a" + map[bool]string{true: "n", false: ""}[prm.TypeName() == jobdef.ParamInteger] + " " + prm.TypeName()
		case prm.Pattern != "":
			in.Hint = "must match " + prm.Pattern
		}
		if prm.Secret {
			in.Value = "" // never sent to the browser
			if !prm.Required && prm.Default != "" {
				in.Hint = "empty keeps the job's default"
			}
		}
		f.Params = append(f.Params, in)
	}
	return f
}

// readParams fills f's parameters from a submitted Run form and returns
// them as the parameters to trigger with. A secret parameter's value is never kept in f (the form
// does not echo it back); an empty optional secret is left out, so that
// the job's default, which the form never shows, applies.
func (f *runForm) readParams(r *http.Request) map[string]string {
	params := map[string]string{}
	for i := range f.Params {
		v := r.PostFormValue("param." + f.Params[i].Name)
		if f.Params[i].Secret {
			if v == "" && !f.Params[i].Required {
				continue // the job's default, which the form never shows
			}
			params[f.Params[i].Name] = v
			continue // and never echoed back
		}
		if f.Params[i].Kind == "checkbox" { // unchecked sends nothing
			v = strconv.FormatBool(v == "true")
		}
		f.Params[i].Value = v
		params[f.Params[i].Name] = v
	}
	return params
}
