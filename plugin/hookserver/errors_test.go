package hookserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
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
