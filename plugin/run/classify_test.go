package run

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// TestClassify: every typed error of the domain and every answer of the
// API server has its kind, bare and wrapped with %w; every Kind is in the
// table.
func TestClassify(t *testing.T) {
	gr := schema.GroupResource{Group: "shipjob.dev", Resource: "jobs"}
	refused := &url.Error{Op: "Get", URL: "https://127.0.0.1:6443/api", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	cases := map[string]struct {
		err  error
		want Kind
	}{
		"plain":              {errors.New("render chart: template error"), KindInternal},
		"render":             {&RenderError{Err: errors.New("image differs")}, KindInternal},
		"api internal":       {apierrors.NewInternalError(errors.New("etcd")), KindInternal},
		"not found":          {apierrors.NewNotFound(gr, "x"), KindNotFound},
		"input":              {&InputError{Err: errors.New("invalid tag")}, KindInvalidInput},
		"input param":        {&InputError{Param: "A", Err: errors.New("bad A")}, KindInvalidInput},
		"input field":        {&InputError{Field: "name", Err: errors.New("no name")}, KindInvalidInput},
		"missing param":      {&MissingParamError{Job: "j", Param: "A"}, KindInvalidInput},
		"secret param":       {&SecretParamError{Run: "j-1", Param: "A", Err: apierrors.NewNotFound(gr, "s")}, KindInvalidInput},
		"conflict":           {&ConflictError{Job: "j", Reason: "forbid"}, KindConflict},
		"replaced":           {&ReplacedError{Job: "j", Known: "a", Now: "b"}, KindReplaced},
		"foreign release":    {&ForeignReleaseError{Namespace: "n", Release: "j", Chart: "app"}, KindForeignRelease},
		"rate limited":       {&RateLimitedError{Job: "j", PerMinute: 1, RetryAfter: time.Second}, KindRateLimited},
		"finished":           {&FinishedError{Run: "j-1", Phase: "Succeeded"}, KindFinished},
		"not a run":          {&NotARunError{Namespace: "n", Run: "j-1", Job: "j", Err: errors.New("labels")}, KindNotARun},
		"invalid definition": {&jobdef.InvalidError{Namespace: "n", Name: "j", Err: errors.New("bad")}, KindInvalidDefinition},
		"changed":            {fmt.Errorf("update job j: %w", jobdef.ErrConflict), KindChanged},
		"api conflict":       {apierrors.NewConflict(gr, "x", errors.New("changed")), KindChanged},
		"already exists":     {apierrors.NewAlreadyExists(gr, "x"), KindAlreadyExists},
		"forbidden":          {apierrors.NewForbidden(gr, "x", errors.New("no")), KindForbidden},
		"forbidden mentions": {apierrors.NewForbidden(gr, "connection refused", errors.New("no")), KindForbidden},
		"unauthorized":       {apierrors.NewUnauthorized("who"), KindUnauthorized},
		"503":                {apierrors.NewServiceUnavailable("shutting down"), KindUnavailable},
		"timeout":            {apierrors.NewTimeoutError("timeout", 1), KindUnavailable},
		"server timeout":     {apierrors.NewServerTimeout(gr, "get", 1), KindUnavailable},
		"429":                {apierrors.NewTooManyRequests("slow down", 1), KindThrottled},
		"refused":            {refused, KindUnreachable},
		"deadline":           {context.DeadlineExceeded, KindUnreachable},
		"helm text":          {errors.New("Kubernetes cluster unreachable: Get \"https://x/version\": dial tcp: connection refused"), KindUnreachable},
		// helmrun wraps the refusals of Parameters in a whole-request one.
		"input in input": {&InputError{Err: &MissingParamError{Job: "j", Param: "A"}}, KindInvalidInput},
	}
	seen := map[Kind]bool{}
	for name, tc := range cases {
		seen[tc.want] = true
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("%s: Classify(%v) = %v, want %v", name, tc.err, got, tc.want)
		}
		if got := Classify(fmt.Errorf("trigger j: %w", tc.err)); got != tc.want {
			t.Errorf("%s wrapped: Classify = %v, want %v", name, got, tc.want)
		}
	}
	for _, k := range Kinds() {
		if !seen[k] {
			t.Errorf("no case of %v", k)
		}
		if k.String() == "" || k.String() == "Kind(?)" {
			t.Errorf("Kind %d has no name", int(k))
		}
	}
	if Classify(nil) != KindInternal {
		t.Errorf("Classify(nil) = %v", Classify(nil))
	}
}

// TestParamAndFieldOf: the input a refusal is about, through wrapping and
// a whole-request InputError around a parameter's.
func TestParamAndFieldOf(t *testing.T) {
	for name, tc := range map[string]struct {
		err          error
		param, field string
	}{
		"whole request":  {&InputError{Err: errors.New("invalid tag")}, "", ""},
		"param":          {&InputError{Param: "COUNT", Err: errors.New("want an integer")}, "COUNT", ""},
		"field":          {fmt.Errorf("x: %w", &InputError{Field: "name", Err: errors.New("required")}), "", "name"},
		"missing":        {&MissingParamError{Job: "j", Param: "DB"}, "DB", ""},
		"secret":         {&SecretParamError{Run: "j-1", Param: "TOKEN", Err: errors.New("gone")}, "TOKEN", ""},
		"input in input": {fmt.Errorf("t: %w", &InputError{Err: &InputError{Param: "A", Err: errors.New("bad")}}), "A", ""},
		"missing inside": {&InputError{Err: &MissingParamError{Job: "j", Param: "DB"}}, "DB", ""},
		"other":          {errors.New(`invalid value for parameter "A"`), "", ""},
		"nil":            {nil, "", ""},
	} {
		if got := ParamOf(tc.err); got != tc.param {
			t.Errorf("%s: ParamOf = %q, want %q", name, got, tc.param)
		}
		if got := FieldOf(tc.err); got != tc.field {
			t.Errorf("%s: FieldOf = %q, want %q", name, got, tc.field)
		}
	}
}

// TestParametersNameTheParam: every refusal of Parameters says which
// parameter it is about, with the message it always had.
func TestParametersNameTheParam(t *testing.T) {
	def := jobdef.New("ns", "migrate")
	def.Spec.Parameters = []jobdef.Parameter{{Name: "COUNT", Type: jobdef.ParamInteger, Default: "1"}, {Name: "DB", Required: true}}
	for name, tc := range map[string]struct {
		given      map[string]string
		param, msg string
	}{
		"unknown":  {map[string]string{"DB": "x", "NOPE": "1"}, "NOPE", `unknown parameter "NOPE" for job migrate; allowed: COUNT, DB`},
		"missing":  {nil, "DB", `missing required parameter "DB" for job migrate`},
		"empty":    {map[string]string{"DB": ""}, "DB", `required parameter "DB" for job migrate needs a value, not an empty one`},
		"nul":      {map[string]string{"DB": "a\x00b"}, "DB", `invalid value for parameter "DB": it must be UTF-8 text without NUL characters`},
		"type":     {map[string]string{"DB": "x", "COUNT": "many"}, "COUNT", `invalid value "many" for parameter "COUNT": want an integer, e.g. 42 or -7`},
		"no param": {map[string]string{"X": "1"}, "X", ""},
	} {
		d := def
		if name == "no param" {
			d = jobdef.New("ns", "bare")
		}
		_, err := mergeParams(d, tc.given)
		if Classify(err) != KindInvalidInput || ParamOf(err) != tc.param || (tc.msg != "" && err.Error() != tc.msg) {
			t.Errorf("%s: %v (%v, param %q), want %q about %s", name, err, Classify(err), ParamOf(err), tc.msg, tc.param)
		}
	}
}
