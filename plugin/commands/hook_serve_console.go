package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/shipjob/kubectl-shipjob/plugin/console"
)

// ConsoleOptions are `hooks serve`'s team console flags.
type ConsoleOptions struct {
	Enabled                               bool
	Listen, URL                           string
	TLSCertFile, TLSKeyFile               string
	IssuerURL, ClientID, ClientSecretFile string
	CAFile, Scopes                        string
	UsernameClaim, UsernamePrefix         string
	GroupsClaim, GroupsPrefix             string
	Auth, SessionSecret                   string
	SessionMax                            time.Duration

	// Read by Validate.
	clientSecret string
	ca           []byte
}

func (c *ConsoleOptions) addFlags(f *pflag.FlagSet) {
	f.BoolVar(&c.Enabled, "console", false, "Serve the team console (the pages of `kubectl shipjob ui`) on --console-listen, behind OpenID Connect sign-in; each person's requests are made as them (docs/security.md)")
	f.StringVar(&c.Listen, "console-listen", console.DefaultListen, "Address of the console's own listener")
	f.StringVar(&c.URL, "console-url", "", "The console's external URL, e.g. https://console.example.com (required with --console): the only Host it answers to; the OAuth redirect URL is this plus /oauth2/callback")
	f.StringVar(&c.TLSCertFile, "console-tls-cert-file", "", "Serve the console over HTTPS with this PEM certificate (re-read when it changes); without it plain HTTP, allowed only for an http://127.0.0.1 or http://localhost --console-url")
	f.StringVar(&c.TLSKeyFile, "console-tls-key-file", "", "PEM private key of --console-tls-cert-file")
	f.StringVar(&c.IssuerURL, "oidc-issuer-url", "", "The OpenID provider's issuer URL (https)")
	f.StringVar(&c.ClientID, "oidc-client-id", "", "The console's client id at the provider (the API server's audience with --console-auth token)")
	f.StringVar(&c.ClientSecretFile, "oidc-client-secret-file", "", "File holding the client secret (surrounding white space is trimmed)")
	f.StringVar(&c.CAFile, "oidc-ca-file", "", "PEM CA certificates to trust for the issuer, besides the system's")
	f.StringVar(&c.Scopes, "oidc-scopes", console.DefaultScopes, "Scopes to ask for, comma-separated (add offline_access for refresh tokens)")
	f.StringVar(&c.UsernameClaim, "oidc-username-claim", console.DefaultUsernameClaim, "ID token claim naming the person (as the API server's claimMappings)")
	f.StringVar(&c.UsernamePrefix, "oidc-username-prefix", "", "Prefix of usernames (as the API server's claimMappings)")
	f.StringVar(&c.GroupsClaim, "oidc-groups-claim", console.DefaultGroupsClaim, "ID token claim listing the person's groups")
	f.StringVar(&c.GroupsPrefix, "oidc-groups-prefix", "", "Prefix of groups (as the API server's claimMappings)")
	f.StringVar(&c.Auth, "console-auth", console.AuthToken, "How a person's requests reach the API server: token (their ID token; the API server must trust the provider) or impersonate (this server's identity impersonates them: it needs the impersonate permission)")
	f.StringVar(&c.SessionSecret, "console-session-secret", console.DefaultSessionSecret, "Secret in the server's namespace holding the session sealing key and signed-out sessions (created if missing)")
	f.DurationVar(&c.SessionMax, "console-session-max", console.DefaultSessionMax, "A console session ends this long after sign-in, whatever happens")
}

// validate checks the console flags (only with --console) and reads the
// secret and CA files; listen is the hook API's address.
func (c *ConsoleOptions) validate(listen string) error {
	if !c.Enabled {
		return nil
	}
	u, err := console.CheckURL(c.URL)
	switch {
	case err != nil:
		return err
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		return errors.New("--console-tls-cert-file and --console-tls-key-file must be given together")
	case u.Scheme == "https" && c.TLSCertFile == "":
		return fmt.Errorf("--console-url %q is https: give --console-tls-cert-file and --console-tls-key-file", c.URL)
	case u.Scheme == "http" && c.TLSCertFile != "":
		return fmt.Errorf("--console-url %q is http but the console serves HTTPS (--console-tls-cert-file): use https", c.URL)
	case strings.TrimSpace(c.Listen) == "":
		return errors.New("--console-listen is required with --console, e.g. :8443")
	case c.Listen == listen:
		return fmt.Errorf("--console-listen %q is the hook API's --listen: the console needs its own", c.Listen)
	case !strings.HasPrefix(c.IssuerURL, "https://") || len(c.IssuerURL) == len("https://"):
		return fmt.Errorf("invalid --oidc-issuer-url %q: want the provider's https issuer URL", c.IssuerURL)
	case strings.TrimSpace(c.ClientID) == "":
		return errors.New("--oidc-client-id is required with --console")
	case c.ClientSecretFile == "":
		return errors.New("--oidc-client-secret-file is required with --console")
	case c.Auth != console.AuthToken && c.Auth != console.AuthImpersonate:
		return fmt.Errorf("invalid --console-auth %q: want token or impersonate", c.Auth)
	case strings.TrimSpace(c.UsernameClaim) == "" || strings.TrimSpace(c.GroupsClaim) == "":
		return errors.New("--oidc-username-claim and --oidc-groups-claim must not be empty")
	case c.SessionMax <= 0:
		return errors.New("--console-session-max must be positive, e.g. 8h")
	case len(validation.IsDNS1123Subdomain(c.SessionSecret)) > 0:
		return fmt.Errorf("invalid --console-session-secret %q: want a Secret name", c.SessionSecret)
	}
	b, err := os.ReadFile(c.ClientSecretFile)
	if err != nil {
		return fmt.Errorf("read --oidc-client-secret-file: %w", err)
	}
	if c.clientSecret = strings.TrimSpace(string(b)); c.clientSecret == "" {
		return fmt.Errorf("--oidc-client-secret-file %s is empty", c.ClientSecretFile)
	}
	if c.CAFile != "" {
		if c.ca, err = os.ReadFile(c.CAFile); err != nil {
			return fmt.Errorf("read --oidc-ca-file: %w", err)
		}
		if !strings.Contains(string(c.ca), "-----BEGIN CERTIFICATE-----") {
			return fmt.Errorf("invalid --oidc-ca-file %s: no PEM certificate in it", c.CAFile)
		}
	}
	return nil
}

// serverNamespace is where the server keeps its own state (the session
// Secret): $POD_NAMESPACE, else the namespace of -n or the kubeconfig.
func (o *HooksServeOptions) serverNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if o.target.Namespace != "" {
		return o.target.Namespace
	}
	return "default"
}

// newConsole builds the console next to the hook server.
func (o *HooksServeOptions) newConsole(ctx context.Context, log *slog.Logger) (*console.Console, error) {
	c := &o.Console
	restCfg, err := o.flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	useProtobuf(restCfg) // each person's clients are made from it
	ec, err := o.target.engineConfig()
	if err != nil {
		return nil, err
	}
	ec.LockTimeout = o.TriggerTimeout
	ec.PruneByName = true // the chart's Role grants delete, not deletecollection
	home := o.target.Namespace
	if len(o.Namespaces) > 0 {
		home = o.Namespaces[0]
	}
	return console.New(ctx, console.Config{URL: c.URL, Listen: c.Listen, TLSCertFile: c.TLSCertFile, TLSKeyFile: c.TLSKeyFile,
		IssuerURL: c.IssuerURL, ClientID: c.ClientID, ClientSecret: c.clientSecret, IssuerCA: c.ca,
		Scopes: console.ParseScopes(c.Scopes), UsernameClaim: c.UsernameClaim, UsernamePrefix: c.UsernamePrefix,
		GroupsClaim: c.GroupsClaim, GroupsPrefix: c.GroupsPrefix, Auth: c.Auth,
		SessionSecret: c.SessionSecret, Namespace: o.serverNamespace(), SessionMax: c.SessionMax,
		Client: o.target.Client, REST: restCfg, Getter: o.flags, Engine: ec, NewEngine: o.engine,
		Home: home, Log: log.With("component", "console")})
}
