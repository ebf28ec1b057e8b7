package ui

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// What a person may do decides what they see: one SelfSubjectRulesReview
// per namespace (cached for permsTTL, filled in the background with the
// namespace switcher's list) tells which buttons a page shows, and every
// POST asks afresh before it writes anything. The API server stays the
// only authorization: a review that fails or is incomplete hides nothing
// it does not deny.

// action is one thing a page offers to do.
type action string

const (
	actList       action = "list jobs"
	actCreateJob  action = "create a job"
	actUpdateJob  action = "change a job"
	actDeleteJob  action = "delete a job"
	actRun        action = "run a job"
	actCancel     action = "cancel a run"
	actDeleteRun  action = "delete a run"
	actCreateHook action = "create a deploy hook"
	actDeleteHook action = "delete a deploy hook"
)

// need is one API request an action makes: a verb on a resource of a
// group ("" is the core group); named: the object's name counts (a rule
// limited to names grants it only for a name it lists).
type need struct {
	Verb, Group, Resource string
	named                 bool
}

func (n need) String() string {
	if n.Group == "" {
		return n.Verb + " " + n.Resource
	}
	return n.Verb + " " + n.Resource + "." + n.Group
}

// needs are the requests each action cannot do without (see the table of
// docs/security.md): a user lacking one would get a half-done write.
var needs = map[action][]need{
	actList:      {{Verb: "list", Resource: "secrets"}},
	actCreateJob: {{Verb: "create", Resource: "secrets"}},
	actUpdateJob: {{Verb: "update", Resource: "secrets", named: true}},
	actDeleteJob: {{Verb: "delete", Resource: "secrets", named: true}, {Verb: "delete", Group: "batch", Resource: "jobs"}},
	actRun: {{Verb: "create", Group: "batch", Resource: "jobs"}, {Verb: "list", Group: "batch", Resource: "jobs"},
		{Verb: "create", Resource: "secrets"}, {Verb: "update", Resource: "secrets"}},
	actCancel:     {{Verb: "patch", Group: "batch", Resource: "jobs", named: true}},
	actDeleteRun:  {{Verb: "delete", Group: "batch", Resource: "jobs", named: true}},
	actCreateHook: {{Verb: "create", Resource: "secrets"}},
	actDeleteHook: {{Verb: "delete", Resource: "secrets", named: true}},
}

// perms is what the user may do in one namespace: the rules of one review.
type perms struct {
	Namespace string
	// Known: the review answered; when false every action is shown and
	// the API server decides.
	Known bool
	// Incomplete: the review could not list every rule (another
	// authorizer); what no rule allows is then not denied.
	Incomplete bool
	Rules      []authorizationv1.ResourceRule
}

// allows reports whether the rules grant n (on the object named name, ""
// when none is known yet).
func (p *perms) allows(n need, name string) bool {
	for _, r := range p.Rules {
		if !matches(r.Verbs, n.Verb) || !matches(r.APIGroups, n.Group) || !matches(r.Resources, n.Resource) {
			continue
		}
		if len(r.ResourceNames) == 0 {
			return true
		}
		// A rule of names never grants create or list (RBAC's rule), and
		// grants the rest only for a name it lists.
		if n.named && name != "" && slices.Contains(r.ResourceNames, name) {
			return true
		}
	}
	return false
}

func matches(list []string, v string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, v)
}

// missing is the first request of a the rules deny ("" name: any object),
// or ok; an unknown or incomplete review denies nothing.
func (p *perms) missing(a action, name string) (need, bool) {
	if p == nil || !p.Known || p.Incomplete {
		return need{}, true
	}
	for _, n := range needs[a] {
		if !p.allows(n, name) {
			return n, false
		}
	}
	return need{}, true
}

func (p *perms) may(a action, name string) bool {
	_, ok := p.missing(a, name)
	return ok
}

// can is what a page's buttons ask: whether to show each one.
type can struct {
	CreateJob, UpdateJob, DeleteJob, Run, Cancel, DeleteRun, CreateHook, DeleteHook bool
}

// canOf is what p allows on job (""), for a page's buttons. A button of
// one run or hook asks about any object of its kind.
func canOf(p *perms, job string) can {
	secret := ""
	if job != "" {
		secret = jobdef.SecretName(job)
	}
	return can{
		CreateJob: p.may(actCreateJob, ""), UpdateJob: p.may(actUpdateJob, secret),
		DeleteJob: p.may(actDeleteJob, secret), Run: p.may(actRun, ""),
		Cancel: p.may(actCancel, ""), DeleteRun: p.may(actDeleteRun, ""),
		CreateHook: p.may(actCreateHook, ""), DeleteHook: p.may(actDeleteHook, ""),
	}
}

// permsTTL is how long a review's answer decides which buttons show.
var permsTTL = 30 * time.Second

// permsCache holds the reviews by user and namespace (the local UI has
// one user, ""; a server of several keys them by who asks).
type permsCache struct {
	mu sync.Mutex
	m  map[permsKey]permsEntry
}

type permsKey struct{ user, ns string }

type permsEntry struct {
	p  *perms
	at time.Time
}

// maxPermsEntries bounds the cache; beyond it the oldest half goes.
const maxPermsEntries = 4096

func (c *permsCache) get(k permsKey) *perms {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok && time.Since(e.at) < permsTTL {
		return e.p
	}
	return nil
}

func (c *permsCache) put(k permsKey, p *perms) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[permsKey]permsEntry{}
	}
	if len(c.m) >= maxPermsEntries {
		for key, e := range c.m {
			if time.Since(e.at) >= permsTTL/2 {
				delete(c.m, key)
			}
		}
	}
	c.m[k] = permsEntry{p: p, at: time.Now()}
}

// review asks the API server what the user may do in ns: one request.
// A failed review is an unknown answer (every button shows).
func (s *Server) review(ctx context.Context, ns string) *perms {
	rev := &authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns}}
	got, err := s.client(ctx).AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, rev, metav1.CreateOptions{})
	if err != nil {
		return &perms{Namespace: ns}
	}
	return &perms{Namespace: ns, Known: true, Incomplete: got.Status.Incomplete, Rules: got.Status.ResourceRules}
}

// perms is what the user may do in ns, from the cache or one review.
func (s *Server) perms(ctx context.Context, ns string) *perms {
	k := permsKey{user: s.actor(ctx).Key, ns: ns}
	if p := s.pc.get(k); p != nil {
		return p
	}
	p := s.review(ctx, ns)
	s.pc.put(k, p) // an unknown answer too: no review per page while the API cannot say
	return p
}

// require asks afresh (one review) whether the user may do a in the
// page's namespace, on the object named name ("" for a new one). When
// not, it renders the 403 page naming the request refused and returns
// false: nothing is written.
func (s *Server) require(w http.ResponseWriter, r *http.Request, p *page, a action, name string) bool {
	pr := s.review(r.Context(), p.Namespace)
	s.pc.put(permsKey{user: s.actor(r.Context()).Key, ns: p.Namespace}, pr)
	n, ok := pr.missing(a, name)
	if ok {
		return true
	}
	s.fail(w, r, p, forbidden(a, n, p.Namespace, name))
	return false
}

// forbidden is the API server's Forbidden for a request the rules deny.
func forbidden(a action, n need, ns, name string) error {
	what := n.String()
	if name != "" && n.named {
		what += " " + fmt.Sprintf("%q", name)
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden,
		Message: fmt.Sprintf("forbidden: you may not %s in namespace %q: your Kubernetes user may not %s there", a, ns, what),
	}}
}

// maxReviewed bounds the reviews of one refresh of the switcher's list;
// reviewConcurrency how many are in flight at once.
const (
	maxReviewed       = 256
	reviewConcurrency = 8
)

// readable keeps of names those where the user may list jobs (the
// switcher's list), reviewing each once (and the home namespace, even
// when names is empty: the first page then needs no review of its own).
// Names beyond maxReviewed are kept unchecked: their pages still say 403.
func (s *Server) readable(ctx context.Context, names []string) []string {
	todo := names[:min(len(names), maxReviewed)]
	if s.cfg.Namespace != "" && !slices.Contains(todo, s.cfg.Namespace) {
		todo = append(slices.Clip(todo), s.cfg.Namespace)
	}
	got := make([]*perms, len(todo))
	sem := make(chan struct{}, reviewConcurrency)
	var wg sync.WaitGroup
	for i, ns := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			got[i] = s.review(ctx, ns)
			s.pc.put(permsKey{user: s.actor(ctx).Key, ns: ns}, got[i])
		}()
	}
	wg.Wait()
	out := make([]string, 0, len(names))
	for i, ns := range names {
		if i >= maxReviewed || got[i].may(actList, "") {
			out = append(out, ns)
		}
	}
	return out
}

// offered is require for a page that only offers a write (a form, a
// confirmation): from the page's cached review, no request of its own.
func (s *Server) offered(w http.ResponseWriter, r *http.Request, p *page, a action, name string) bool {
	n, ok := p.perms.missing(a, name)
	if ok {
		return true
	}
	s.fail(w, r, p, forbidden(a, n, p.Namespace, name))
	return false
}
