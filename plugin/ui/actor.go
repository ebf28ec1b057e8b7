package ui

import (
	"context"
	"net/http"

	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// Actor is who a request acts as: the API client and the engine with that
// person's credentials, and what the pages show of them. The local UI has
// one (the user's kubeconfig); the team console makes one per session.
type Actor struct {
	Client kubernetes.Interface
	Engine run.Engine
	// User is the run provenance ("user:alice"); "" = asked of the API
	// server (run.WhoAmI) once, for the local UI's one actor.
	User string
	// Name is shown in the header bar next to a Sign out button posting to
	// SignOut ("" = neither: the local UI).
	Name, SignOut string
	// CSRF is the token of the session's forms.
	CSRF string
	// Key keys the caches of per-person data (the namespace list): ""
	// for the local UI's one actor, else unique to the person.
	Key string
}

type actorKey struct{}

// WithActor returns ctx carrying a: a Guard calls it before the pages.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// actor is the request's actor: the one the guard put in ctx, else the
// local UI's.
func (s *Server) actor(ctx context.Context) *Actor {
	if a, ok := ctx.Value(actorKey{}).(*Actor); ok && a != nil {
		return a
	}
	return s.local
}

// client is the API client of the request's actor.
func (s *Server) client(ctx context.Context) kubernetes.Interface { return s.actor(ctx).Client }

// engine is the run engine of the request's actor.
func (s *Server) engine(ctx context.Context) run.Engine { return s.actor(ctx).Engine }

// requireActor answers 500 to a request a Guard let through without an
// actor: pages never run with no credentials at all.
func requireActor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := r.Context().Value(actorKey{}).(*Actor); !ok || a == nil || a.Client == nil || a.Engine == nil {
			plain(w, http.StatusInternalServerError, "500 Internal Server Error: no credentials for this request.")
			return
		}
		next.ServeHTTP(w, r)
	})
}
