package hookserver

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
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

func TestHookUnavailable(t *testing.T) {
	refused := &url.Error{Op: "Get", URL: "https://127.0.0.1:6443/api", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	gr := schema.GroupResource{Resource: "secrets"}
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"refused":            {fmt.Errorf("lock job x: %w", refused), true},
		"deadline":           {fmt.Errorf("trigger: %w", context.DeadlineExceeded), true},
		"503":                {apierrors.NewServiceUnavailable("shutting down"), true},
		"429":                {apierrors.NewTooManyRequests("slow down", 1), true},
		"timeout":            {apierrors.NewTimeoutError("timeout", 1), true},
		"helm text":          {errors.New("Kubernetes cluster unreachable: Get \"https://x/version\": dial tcp: connection refused"), true},
		"not found":          {apierrors.NewNotFound(gr, "x"), false},
		"forbidden":          {apierrors.NewForbidden(gr, "x", errors.New("no")), false},
		"plain":              {errors.New("render chart: template error"), false},
		"nil":                {nil, false},
		"validation":         {errors.New(`unknown parameter "X" for job j`), false},
		"forbidden mentions": {fmt.Errorf("x: %w", apierrors.NewForbidden(gr, "connection refused", errors.New("no"))), false},
	} {
		if got := Unavailable(tc.err); got != tc.want {
			t.Errorf("%s: Unavailable(%v) = %v, want %v", name, tc.err, got, tc.want)
		}
	}
}

// TestTriggerErrorMapsEveryKind: a new run.Kind fails here until the
// trigger API says what it answers.
func TestTriggerErrorMapsEveryKind(t *testing.T) {
	for _, k := range run.Kinds() {
		if _, ok := triggerStatus[k]; !ok {
			t.Errorf("no answer for %v", k)
		}
	}
}

// TestTriggerError: the answer to each kind of error of the trigger, as it
// was before run.Classify: refusals with their message, failures without.
func TestTriggerError(t *testing.T) {
	gr := schema.GroupResource{Group: "shipjob.dev", Resource: "jobs"}
	e := Entry{Namespace: "team", Job: "migrate"}
	internal := "internal error; see the server log"
	unavailable := "the Kubernetes API server cannot be reached; retry later"
	for name, tc := range map[string]struct {
		err  error
		code int
		msg  string // "" = the error's own message
	}{
		"not found":          {apierrors.NewNotFound(gr, "migrate"), 404, "hook not found"},
		"replaced":           {&run.ReplacedError{Job: "migrate", Known: "a", Now: "b"}, 404, "hook not found"},
		"input":              {&run.InputError{Err: &run.InputError{Param: "A", Err: errors.New("bad A")}}, 400, ""},
		"concurrency":        {&run.ConflictError{Job: "migrate", Reason: "forbid"}, 409, ""},
		"foreign release":    {&run.ForeignReleaseError{Namespace: "team", Release: "migrate", Chart: "app"}, 409, ""},
		"rate limited":       {&run.RateLimitedError{Job: "migrate", PerMinute: 1, RetryAfter: time.Second}, 429, ""},
		"invalid definition": {&jobdef.InvalidError{Namespace: "team", Name: "migrate", Err: errors.New("bad")}, 500, "internal error: the definition of job migrate is invalid (edited by hand?): fix it with 'kubectl shipjob edit migrate'; details in the server log"},
		"unavailable":        {apierrors.NewServiceUnavailable("later"), 503, unavailable},
		"throttled":          {apierrors.NewTooManyRequests("slow down", 1), 503, unavailable},
		"deadline":           {context.DeadlineExceeded, 503, unavailable},
		"forbidden":          {apierrors.NewForbidden(gr, "x", errors.New("no")), 500, internal},
		"changed":            {apierrors.NewConflict(gr, "x", errors.New("changed")), 500, internal},
		"render":             {&run.RenderError{Err: errors.New("differs")}, 500, internal},
		"plain":              {errors.New("boom"), 500, internal},
	} {
		err := fmt.Errorf("trigger: %w", tc.err)
		want := tc.msg
		if want == "" {
			want = err.Error()
		}
		if got := triggerError(err, e); got.Code != tc.code || got.Message != want {
			t.Errorf("%s: %d %q, want %d %q", name, got.Code, got.Message, tc.code, want)
		}
	}
}
