package console

import (
	"fmt"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/shipjob/kubectl-shipjob/plugin/ui"
)

// Auth modes: how a person's requests reach the API server.
const (
	// AuthToken: the person's ID token is the bearer token.
	AuthToken = "token"
	// AuthImpersonate: the server's identity impersonates the person.
	AuthImpersonate = "impersonate"
)

// personConfig is the rest.Config of a session's person. With a token it
// inherits nothing of the server's credentials: only where the API server
// is and how to trust it.
func (c *Console) personConfig(s *session) *rest.Config {
	base := c.cfg.REST
	if c.cfg.Auth == AuthImpersonate {
		rc := rest.CopyConfig(base)
		rc.Impersonate = rest.ImpersonationConfig{UserName: s.User, Groups: s.Groups}
		rc.UserAgent = base.UserAgent + " console"
		return rc
	}
	return &rest.Config{
		Host:    base.Host,
		APIPath: base.APIPath,
		TLSClientConfig: rest.TLSClientConfig{Insecure: base.Insecure, ServerName: base.ServerName,
			CAFile: base.CAFile, CAData: base.CAData},
		BearerToken: s.IDToken,
		// Protobuf, as the server's own client speaks: a list of 10,000
		// definitions decodes several times faster than as JSON.
		ContentConfig: rest.ContentConfig{ContentType: base.ContentType, AcceptContentTypes: base.AcceptContentTypes},
		QPS:           base.QPS,
		Burst:         base.Burst,
		Timeout:       base.Timeout,
		UserAgent:     base.UserAgent + " console",
	}
}

// actorCache keeps each session's actor (its clients) while its token
// lasts, so a page does not build new clients.
type actorCache struct {
	mu sync.Mutex
	m  map[string]actorEntry
}

type actorEntry struct {
	token string
	actor *ui.Actor
}

const maxActors = 1000

func (a *actorCache) drop(id string) {
	a.mu.Lock()
	delete(a.m, id)
	a.mu.Unlock()
}

// actor is the session's person as the pages act.
func (c *Console) actor(s *session) (*ui.Actor, error) {
	c.actors.mu.Lock()
	e, ok := c.actors.m[s.ID]
	c.actors.mu.Unlock()
	if ok && e.token == s.IDToken {
		return e.actor, nil
	}
	rc := c.personConfig(s)
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	ec := c.cfg.Engine
	ec.Client = cs
	ec.Getter = &personGetter{base: c.cfg.Getter, cfg: rc}
	name := strings.TrimPrefix(s.Who, "user:")
	a := &ui.Actor{Client: cs, Engine: c.cfg.NewEngine(ec), User: s.Who, Name: name, SignOut: logoutPath,
		CSRF: s.CSRF, Key: s.Who + "\x00" + strings.Join(s.Groups, ",")}
	c.actors.mu.Lock()
	if c.actors.m == nil || len(c.actors.m) >= maxActors {
		c.actors.m = map[string]actorEntry{}
	}
	c.actors.m[s.ID] = actorEntry{token: s.IDToken, actor: a}
	c.actors.mu.Unlock()
	return a, nil
}

// personGetter is Helm's view of the cluster as the person: their
// rest.Config; discovery and the REST mapping are the server's (the same
// for everyone, and cached).
type personGetter struct {
	base genericclioptions.RESTClientGetter
	cfg  *rest.Config
}

var _ genericclioptions.RESTClientGetter = (*personGetter)(nil)

func (g *personGetter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.cfg), nil }
func (g *personGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return g.base.ToDiscoveryClient()
}
func (g *personGetter) ToRESTMapper() (meta.RESTMapper, error) { return g.base.ToRESTMapper() }
func (g *personGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return personClientConfig{base: g.base.ToRawKubeConfigLoader(), cfg: g.cfg}
}

// personClientConfig answers with the person's rest.Config and none of
// the server's kubeconfig.
type personClientConfig struct {
	base clientcmd.ClientConfig
	cfg  *rest.Config
}

func (p personClientConfig) RawConfig() (clientcmdapi.Config, error) {
	return *clientcmdapi.NewConfig(), nil
}
func (p personClientConfig) ClientConfig() (*rest.Config, error) { return rest.CopyConfig(p.cfg), nil }
func (p personClientConfig) Namespace() (string, bool, error)    { return p.base.Namespace() }
func (p personClientConfig) ConfigAccess() clientcmd.ConfigAccess {
	return p.base.ConfigAccess()
}
