package hookserver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

var errHookNotFound = errorf(http.StatusNotFound, "hook not found")

// IdempotencyKeyHeader makes a trigger idempotent (IETF draft
// "The Idempotency-Key HTTP Header Field"): while the run made with the key
// exists, the same call answers 200 with it; other parameters are a 409.
const IdempotencyKeyHeader = "Idempotency-Key"

// trigger is POST /api/v1/dh: Shipmight's deploy hook call.
func (s *Server) trigger(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.fail(w, r, s.unauthenticated(w, r, errorf(http.StatusMethodNotAllowed, "method "+safeText(r.Method, 16)+" not allowed: use POST")))
		return
	}
	e, aerr := s.authenticate(w, r, s.triggers)
	if aerr != nil {
		s.fail(w, r, aerr)
		return
	}
	info := infoOf(r)
	params, tag, aerr := decodeTrigger(w, r)
	if keys := r.Header.Values(IdempotencyKeyHeader); aerr == nil && len(keys) > 1 {
		aerr = errorf(http.StatusBadRequest, IdempotencyKeyHeader+" is given more than once")
	}
	if aerr != nil {
		s.metrics.trigger(e.Namespace, e.Job, aerr.Code, -1)
		s.fail(w, r, aerr)
		return
	}
	// A caller that hangs up does not abort a half-done Helm upgrade, and
	// a shutdown waits for it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.TriggerTimeout)
	defer cancel()
	start := time.Now()
	// The trigger checks everything (parameters, tag, the definition, that
	// it is the hook's job): its typed errors map to answers. The hook is
	// confirmed while the trigger reads the definition.
	confirm := s.startConfirm(r, e)
	res, err := s.cfg.Triggerer.Trigger(ctx, run.Request{Namespace: e.Namespace, Job: e.Job, Params: params, Tag: tag,
		TriggeredBy: e.TriggeredBy(), Confirm: confirm, IdempotencyKey: r.Header.Get(IdempotencyKeyHeader)})
	elapsed := time.Since(start).Seconds()
	if _, cerr := confirm(); cerr != nil && err == nil {
		// Not asked (an Engine that does not confirm): nothing may pass.
		err = cerr
	}
	if errors.As(err, &aerr) {
		// The hook was not confirmed.
		s.metrics.trigger(e.Namespace, e.Job, aerr.Code, -1)
		s.fail(w, r, aerr)
		return
	}
	if err != nil {
		info.err = err
		aerr = triggerError(err, e)
		var limited *run.RateLimitedError
		if errors.As(err, &limited) {
			w.Header().Set("Retry-After", strconv.Itoa(limited.RetrySeconds()))
		}
		s.metrics.trigger(e.Namespace, e.Job, aerr.Code, elapsed)
		s.fail(w, r, aerr)
		return
	}
	info.run, info.warnings = res.Run, res.Warnings
	code := http.StatusCreated
	if res.Unchanged {
		// The run this idempotency key made: the same answer, as 200.
		code = http.StatusOK
	}
	s.metrics.trigger(e.Namespace, e.Job, code, elapsed)
	writeJSON(w, code, Triggered{Run: res.Run, Namespace: res.Namespace, Job: res.Job,
		StatusURL: s.cfg.ExternalURL + hook.RunsPath + res.Run})
}

// startConfirm starts confirm and returns the wait for its answer (a
// run.Request's Confirm: the GET goes out while the trigger reads the
// job's definition). Its error is an *apiError.
func (s *Server) startConfirm(r *http.Request, e Entry) func() (types.UID, error) {
	type answer struct {
		owner types.UID
		err   *apiError
	}
	ch := make(chan answer, 1)
	go func() {
		owner, aerr := s.confirm(r, e)
		if aerr == nil && owner == "" {
			infoOf(r).err = fmt.Errorf("hook not found: the hook Secret has no owner job UID (fail closed; create a new hook)")
			aerr = errHookNotFound
		}
		ch <- answer{owner, aerr}
	}()
	return sync.OnceValues(func() (types.UID, error) {
		a := <-ch
		if a.err != nil {
			return "", a.err
		}
		return a.owner, nil
	})
}

// confirm re-reads the hook from the API server before a trigger: the
// cache answers unknown tokens cheaply, but a trigger (which writes) must
// not depend on a watch being current. One GET. It returns the UID of the
// job Secret that owns the hook.
func (s *Server) confirm(r *http.Request, e Entry) (types.UID, *apiError) {
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	sec, err := s.cfg.Client.CoreV1().Secrets(e.Namespace).Get(ctx, hook.SecretName(e.ID), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", errHookNotFound
	case err != nil:
		infoOf(r).err = err
		return "", classify(err)
	case sec.DeletionTimestamp != nil || sec.Type != hook.SecretType || !hook.Verify(r.Header.Get(hook.TokenHeader), string(sec.Data[hook.DataKey])):
		return "", errHookNotFound
	}
	return hook.OwnerJobUID(sec), nil
}

// triggerError maps an error of the trigger to its answer (triggerStatus):
// the error's own message for a refusal of the request, none of the
// details of a failure.
func triggerError(err error, e Entry) *apiError {
	kind := run.Classify(err)
	switch triggerStatus[kind] {
	case http.StatusNotFound:
		return errHookNotFound
	case http.StatusServiceUnavailable:
		return errUnavailable
	case http.StatusInternalServerError, 0:
		if kind == run.KindInvalidDefinition {
			return errorf(http.StatusInternalServerError, "internal error: the definition of job "+e.Job+" is invalid (edited by hand?): fix it with 'kubectl shipjob edit "+e.Job+"'; details in the server log")
		}
		return errInternal
	}
	return errorf(triggerStatus[kind], err.Error())
}

// status is GET /api/v1/dh/runs/{run}: a run of the hook's job, for CI to
// wait on. Runs of other jobs do not exist for the token.
func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.fail(w, r, s.unauthenticated(w, r, errorf(http.StatusMethodNotAllowed, "method "+safeText(r.Method, 16)+" not allowed: use GET")))
		return
	}
	e, aerr := s.authenticate(w, r, s.reads)
	if aerr != nil {
		s.fail(w, r, aerr)
		return
	}
	info := infoOf(r)
	name := strings.TrimPrefix(r.URL.Path, hook.RunsPath)
	info.run = safeText(name, 80)
	notFound := errorf(http.StatusNotFound, "run not found")
	if suffix, ok := strings.CutPrefix(name, e.Job+"-"); !ok || len(suffix) != 10 || strings.ContainsAny(suffix, "/-") {
		s.fail(w, r, notFound)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	// Only a run of the hook's job as it exists (not a Job planted with
	// run labels) has a status here.
	st, err := run.GetVerified(ctx, s.cfg.Client, e.Namespace, name)
	var status apierrors.APIStatus
	switch {
	case err == nil && st.Job == e.Job:
		writeJSON(w, http.StatusOK, runStatus(st))
	case err == nil, apierrors.IsNotFound(err), !Unavailable(err) && !errors.As(err, &status):
		info.err = err
		s.fail(w, r, notFound)
	default:
		info.err = err
		s.fail(w, r, classify(err))
	}
}

// authenticate finds the token's hook and takes a request from its rate
// limit: 404 for any token that is not a live hook's, 429 over the limit,
// 503 before the hooks are loaded.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, lim *limiter) (Entry, *apiError) {
	if !s.index.Synced() {
		return Entry{}, errorf(http.StatusServiceUnavailable, "starting: hooks are not loaded yet; retry later")
	}
	e, ok := s.index.Authenticate(r.Header.Get(hook.TokenHeader))
	if !ok {
		return Entry{}, s.unauthenticated(w, r, errHookNotFound)
	}
	info := infoOf(r)
	info.hook, info.job = e.ID, e.Job
	now := time.Now()
	if ok, wait := lim.allow(e.Namespace+"/"+e.ID, now); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return Entry{}, errorf(http.StatusTooManyRequests, "rate limit of this hook exceeded; retry in "+wait.Round(time.Millisecond).String())
	}
	s.usage.record(e, now)
	return e, nil
}

// unauthenticated is the answer to a request that did not authenticate:
// e, or 429 once its client is over the unauthenticated limit.
func (s *Server) unauthenticated(w http.ResponseWriter, r *http.Request, e *apiError) *apiError {
	info := infoOf(r)
	info.unauth = true
	if ok, wait := s.clients.allow(info.client, time.Now()); !ok {
		s.metrics.limitedClient()
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return errorf(http.StatusTooManyRequests, "too many requests without a valid token from this address; retry in "+wait.Round(time.Millisecond).String())
	}
	return e
}
