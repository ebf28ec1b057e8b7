package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/shipjob/kubectl-shipjob/plugin/console"
	"github.com/shipjob/kubectl-shipjob/plugin/hookserver"
	"github.com/shipjob/kubectl-shipjob/plugin/notify"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"github.com/shipjob/kubectl-shipjob/plugin/runend"
)

// HooksServeOptions run the deploy hook HTTP server.
type HooksServeOptions struct {
	Listen          string
	AllNamespaces   bool
	Namespaces      []string
	RateLimit       float64
	RateBurst       int
	KubeAPIQPS      float64
	TriggerTimeout  time.Duration
	ShutdownDelay   time.Duration
	ShutdownTimeout time.Duration
	LogLevel        string
	// Requests without a valid token, statusUrl and TLS.
	UnauthRateLimit float64
	UnauthRateBurst int
	TrustedProxies  []string
	ExternalURL     string
	TLSCertFile     string
	TLSKeyFile      string
	// Run ends: leader election and notifications.
	Notifications         bool
	Schedules             bool
	LeaderElection        bool
	LeaderNamespace       string
	LeaseName             string
	LeaderIdentity        string
	LeaseDuration         time.Duration
	RenewDeadline         time.Duration
	RetryPeriod           time.Duration
	WebhookAllowInsecure  bool
	WebhookAllowPrivate   bool // deprecated: WebhookAllowCIDRs
	WebhookAllowCIDRs     []string
	WebhookDenyCIDRs      []string
	ClusterCIDRs          []string
	WebhookConnectTimeout time.Duration
	WebhookTimeout        time.Duration
	WebhookTries          int
	WebhookRetryInitial   time.Duration
	// Console is the team console (--console).
	Console ConsoleOptions

	trusted []netip.Prefix
	// Parsed --webhook-allow-cidrs, --webhook-deny-cidrs, --cluster-cidrs.
	allowCIDRs, denyCIDRs, clusterCIDRs []netip.Prefix
	flags                               *genericclioptions.ConfigFlags
	engine                              run.NewEngine // triggers runs, deletes jobs (helmrun.New, from main)
	target                              target
	level                               slog.Level
	genericiooptions.IOStreams
}

// hookServeLong is the help of `hook serve`.
const hookServeLong = `Serve deploy hooks over HTTP. Inside a pod (KUBERNETES_SERVICE_HOST set, no
kubeconfig) it uses the pod's ServiceAccount, otherwise the kubeconfig.

  POST /api/v1/dh             header X-Deploy-Hook-Token, JSON body
                              {"instanceEnvironmentVariables":[{"name":"X","value":"y"}],"imageTag":"1.2.0"}
                              (both optional) → 201 {"run": ..., "statusUrl": ...};
                              header Idempotency-Key: KEY → while the run made with KEY
                              exists, 200 with it (other parameters: 409)
  GET  /api/v1/dh/runs/RUN    same token → phase, message, exit code of a run of the hook's job
  GET  /healthz, /readyz, /metrics

Errors: 400 bad JSON or parameters, 404 unknown or deleted token, 405, 409 (the
job's concurrencyPolicy Forbid or maxActiveRuns, or an idempotency key used with
other parameters), 413 (over
64 KiB), 415 (not JSON), 429 (rate limit per hook, the job's maxRunsPerMinute
shared by every replica and the CLI, with Retry-After, or per client address for
requests without a valid token), 503 (API server unreachable), 500. The body is
read strictly: field names are case-sensitive, a repeated key, null or a control
character is a 400.

statusUrl is --external-url plus /api/v1/dh/runs/RUN, or that path alone
without --external-url; it never comes from the request's Host header. With
--tls-cert-file and --tls-key-file the server speaks HTTPS only and re-reads
the files when they change (certificate rotation without a restart).

Run ends (--notifications, on by default): one replica, the holder of a Lease
(--leader-election-*), watches the served namespaces' runs; when one ends it
sets the run's TTL by outcome (the job's retention, or retentionFailed for failed
and cancelled runs), records an Event on its Job (RunSucceeded, RunFailed,
RunCancelled), counts it in the metrics, and POSTs the job's notifications,
signed, with retries for network errors, 429 and 5xx; each delivery is recorded
on the run (runs -o wide: NOTIFIED). Runs that ended while no server ran are
processed when one starts. Cloud metadata addresses are never notified;
loopback, private, link-local, CGNAT and the other internal ranges, the
cluster's networks (--cluster-cidrs) and the API server's addresses are
refused unless --webhook-allow-cidrs covers them; --webhook-deny-cidrs
refuses more; plain http is refused unless --webhook-allow-insecure.

Schedules (--schedules, on by default, with or without --notifications): the
same leader runs each job's schedules, one run per slot, and renews every 15s
a Lease shipjob-schedules in each served namespace that has schedules, so that
list and get there can tell whether schedules run.

Run any number of replicas: state lives in the API server, and triggers of
one job are serialized across replicas. Logs are JSON lines on stderr (requests
without a valid token and 404s at debug level); SIGTERM finishes in-flight
triggers before exiting.

Team console (--console): the pages of ` + "`kubectl shipjob ui`" + ` on their own listener
(--console-listen) at --console-url, behind OpenID Connect sign-in (code flow
with PKCE; --oidc-*). Each person's requests are made as them: with their ID
token as the bearer token (--console-auth token: the API server must trust the
provider, with the same claims and prefixes) or by this server impersonating
them (--console-auth impersonate: it needs the impersonate permission). Sessions
are sealed cookies; the key and signed-out sessions live in the Secret
--console-session-secret, shared by every replica. GET /healthz answers on the
console's listener too.`

func newHooksServeCmd(flags *genericclioptions.ConfigFlags, engine run.NewEngine, streams genericiooptions.IOStreams) *cobra.Command {
	o := &HooksServeOptions{flags: flags, engine: engine, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "serve [--listen :8080] [-n NAMESPACE | --namespaces NS1,NS2 | -A]",
		Short: "Serve the deploy hook HTTP API (Shipmight-compatible) for the given namespaces",
		Long:  hookServeLong,
		Example: `  kubectl shipjob hooks serve -n team-a
  kubectl shipjob hooks serve --namespaces jobs-a,jobs-b --listen 127.0.0.1:8080 --rate-limit 2 --rate-burst 20
  kubectl shipjob hooks serve -n team-a --external-url https://hooks.example.com \
    --tls-cert-file /tls/tls.crt --tls-key-file /tls/tls.key`,
		Args: cobra.NoArgs,
		RunE: runE(o),
	}
	o.addFlags(cmd.Flags())
	return cmd
}

// addFlags adds the server's flags (the kubectl flags come from the root).
func (o *HooksServeOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Listen, "listen", ":8080", "Address to listen on")
	stringSliceVar(f, &o.Namespaces, "namespaces", "", "Serve the hooks of these namespaces (comma-separated or repeated; one watch each): a Role in each suffices")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Serve the hooks of every namespace. Needs read and write access to every Secret of the cluster, and lets whoever can write Secrets in any namespace run Jobs there through the server; prefer --namespaces (docs/security.md)")
	f.Float64Var(&o.RateLimit, "rate-limit", 1, "Triggers per second allowed per hook and replica (0: no limit); status reads get 10x")
	f.IntVar(&o.RateBurst, "rate-burst", 10, "Triggers a hook may make at once before --rate-limit applies")
	f.Float64Var(&o.KubeAPIQPS, "kube-api-qps", 0, "Client-side limit of requests per second to the API server, bursts of twice that (0: none; the API server's priority and fairness applies either way; a trigger makes about 7)")
	f.DurationVar(&o.TriggerTimeout, "trigger-timeout", 2*time.Minute, "Longest a trigger may take, including waiting for other triggers of its job")
	f.DurationVar(&o.ShutdownDelay, "shutdown-delay", 0, "On SIGTERM, keep accepting requests this long (with /readyz failing) before closing the listener")
	f.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 150*time.Second, "On SIGTERM, longest wait for in-flight requests")
	f.StringVar(&o.LogLevel, "log-level", "info", "Log level: debug, info, warn or error")
	f.Float64Var(&o.UnauthRateLimit, "unauthenticated-rate-limit", 1, "Requests per second per client address without a valid token (unknown token, path or method) before they are answered 429 (0: no limit); requests with a valid token never count")
	f.IntVar(&o.UnauthRateBurst, "unauthenticated-rate-burst", 20, "Requests without a valid token a client address may make at once before --unauthenticated-rate-limit applies (0 or 1: one at a time)")
	stringSliceVar(f, &o.TrustedProxies, "trusted-proxies", "", "Proxies (CIDRs or addresses, e.g. 10.0.0.0/8) whose X-Forwarded-For names the client for --unauthenticated-rate-limit; by default the connection's peer is the client")
	f.StringVar(&o.ExternalURL, "external-url", "", "URL clients reach the server at, e.g. https://hooks.example.com: the base of statusUrl in 201 answers (default: statusUrl is a path such as /api/v1/dh/runs/RUN; never taken from the request's Host or X-Forwarded-* headers)")
	f.StringVar(&o.TLSCertFile, "tls-cert-file", "", "Serve HTTPS with this PEM certificate (chain), re-read when it changes; needs --tls-key-file")
	f.StringVar(&o.TLSKeyFile, "tls-key-file", "", "PEM private key of --tls-cert-file, re-read when it changes")
	f.BoolVar(&o.Notifications, "notifications", true, "Process run ends (one replica, the leader): TTL by outcome (retentionFailed), Events, run metrics, the jobs' webhook notifications")
	f.BoolVar(&o.Schedules, "schedules", true, "Run the jobs' schedules (one replica, the leader), with a heartbeat Lease shipjob-schedules in each served namespace that has schedules")
	f.BoolVar(&o.LeaderElection, "leader-election", true, "Elect the replica that processes run ends and runs schedules with a Lease; off: this process does it, so run only one")
	f.StringVar(&o.LeaderNamespace, "leader-election-namespace", "", "Namespace of the Lease (default: $POD_NAMESPACE, else the first served namespace)")
	f.StringVar(&o.LeaseName, "leader-election-lease-name", "shipjob-hooks", "Name of the Lease the replicas share")
	f.StringVar(&o.LeaderIdentity, "leader-election-identity", "", "This replica's name in the Lease (default: $POD_NAME, else HOST_PID)")
	f.DurationVar(&o.LeaseDuration, "leader-election-lease-duration", 15*time.Second, "How long a leader's Lease holds without renewal before another replica may take over")
	f.DurationVar(&o.RenewDeadline, "leader-election-renew-deadline", 10*time.Second, "A leader that cannot renew within this stops leading (shorter than the lease duration)")
	f.DurationVar(&o.RetryPeriod, "leader-election-retry-period", 2*time.Second, "How often replicas try to take or renew the Lease")
	f.BoolVar(&o.WebhookAllowInsecure, "webhook-allow-insecure", false, "Send notifications over plain http too (default: https only)")
	f.BoolVar(&o.WebhookAllowPrivate, "webhook-allow-private", false, "Allow every internal range, as --webhook-allow-cidrs listing them would (never cloud metadata addresses)")
	_ = f.MarkDeprecated("webhook-allow-private", "use --webhook-allow-cidrs with the ranges to allow, e.g. 127.0.0.0/8,10.0.0.0/8")
	stringSliceVar(f, &o.WebhookAllowCIDRs, "webhook-allow-cidrs", "", "Ranges notifications may go to although internal (loopback, private, link-local, CGNAT, …, --cluster-cidrs, the API server's addresses), e.g. 127.0.0.0/8,10.20.0.0/16; cloud metadata addresses stay refused")
	stringSliceVar(f, &o.WebhookDenyCIDRs, "webhook-deny-cidrs", "", "Ranges notifications never go to, whatever --webhook-allow-cidrs says")
	stringSliceVar(f, &o.ClusterCIDRs, "cluster-cidrs", "", "The cluster's pod and service networks, IPv4 and IPv6 (e.g. 10.244.0.0/16,10.96.0.0/12,fd00:10:244::/56): refused as webhook receivers unless --webhook-allow-cidrs covers them")
	f.DurationVar(&o.WebhookConnectTimeout, "webhook-connect-timeout", 5*time.Second, "Longest wait to connect to a webhook, TLS handshake included, per try")
	f.DurationVar(&o.WebhookTimeout, "webhook-timeout", 10*time.Second, "Longest wait for a webhook's answer once connected, per try")
	f.IntVar(&o.WebhookTries, "webhook-tries", 5, "Tries of a notification on network errors, 429 and 5xx (1-10)")
	f.DurationVar(&o.WebhookRetryInitial, "webhook-retry-initial", 15*time.Second, "Wait before the second try; each further wait is 3 times longer (at most 4m)")
	o.Console.addFlags(f)
}

// Complete builds the client (in-cluster or kubeconfig) with a client-side
// rate limit fit for concurrent triggers.
func (o *HooksServeOptions) Complete(_ *cobra.Command, _ []string) error {
	if err := o.level.UnmarshalText([]byte(o.LogLevel)); err != nil {
		return fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", o.LogLevel)
	}
	var err error
	if o.trusted, err = hookserver.ParseTrustedProxies(o.TrustedProxies); err != nil {
		return fmt.Errorf("invalid --trusted-proxies: want CIDRs or addresses such as 10.0.0.0/8: %w", err)
	}
	for _, c := range []struct {
		flag string
		in   []string
		out  *[]netip.Prefix
	}{{"--webhook-allow-cidrs", o.WebhookAllowCIDRs, &o.allowCIDRs}, {"--webhook-deny-cidrs", o.WebhookDenyCIDRs, &o.denyCIDRs},
		{"--cluster-cidrs", o.ClusterCIDRs, &o.clusterCIDRs}} {
		if *c.out, err = parseCIDRs(c.in); err != nil {
			return fmt.Errorf("invalid %s: want CIDRs such as 10.0.0.0/8 or fd00::/8: %w", c.flag, err)
		}
	}
	wrap := o.flags.WrapConfigFn
	o.flags.WrapConfigFn = func(c *rest.Config) *rest.Config {
		if wrap != nil {
			c = wrap(c)
		}
		// Concurrent triggers of many jobs must not queue behind a
		// client-side limit meant for one command (at 100/s it capped the
		// server at 20 triggers/s): none by default, the API server's
		// priority and fairness applies; --kube-api-qps sets one.
		c.QPS, c.Burst = -1, 0
		if o.KubeAPIQPS > 0 {
			c.QPS, c.Burst = float32(o.KubeAPIQPS), max(1, int(2*o.KubeAPIQPS))
		}
		if c.UserAgent == "" {
			c.UserAgent = rest.DefaultKubernetesUserAgent()
		}
		c.UserAgent += " hooks-serve"
		return c
	}
	o.target, err = resolveTarget(o.flags)
	return err
}

// Validate checks flag values.
func (o *HooksServeOptions) Validate() error {
	switch {
	case o.AllNamespaces && o.target.ExplicitNamespace:
		return errors.New("--namespace and --all-namespaces cannot be used together")
	case o.AllNamespaces && len(o.Namespaces) > 0:
		return errors.New("--namespaces and --all-namespaces cannot be used together")
	case len(o.Namespaces) > 0 && o.target.ExplicitNamespace:
		return errors.New("--namespace and --namespaces cannot be used together")
	case !o.AllNamespaces && len(o.Namespaces) == 0 && o.target.Namespace == "":
		return errors.New("no namespace: give -n NAMESPACE, --namespaces NS1,NS2 or --all-namespaces")
	case o.RateLimit < 0 || o.RateBurst < 1:
		return errors.New("--rate-limit must be >= 0 and --rate-burst >= 1")
	case o.KubeAPIQPS < 0:
		return errors.New("--kube-api-qps must be >= 0 (0: no client-side limit)")
	case o.TriggerTimeout <= 0 || o.ShutdownTimeout <= 0 || o.ShutdownDelay < 0:
		return errors.New("--trigger-timeout and --shutdown-timeout must be positive, --shutdown-delay not negative")
	case strings.TrimSpace(o.Listen) == "":
		return errors.New("--listen is required, e.g. :8080")
	case o.UnauthRateLimit < 0 || o.UnauthRateBurst < 0:
		return errors.New("--unauthenticated-rate-limit and --unauthenticated-rate-burst must be >= 0")
	case (o.TLSCertFile == "") != (o.TLSKeyFile == ""):
		return errors.New("--tls-cert-file and --tls-key-file must be given together")
	case o.WebhookTries < 0 || o.WebhookTries > 10:
		return errors.New("--webhook-tries must be between 1 and 10")
	case o.WebhookTimeout < 0 || o.WebhookRetryInitial < 0 || o.WebhookConnectTimeout < 0:
		return errors.New("--webhook-timeout, --webhook-connect-timeout and --webhook-retry-initial must be positive")
	case o.LeaderElection && o.LeaseDuration != 0 && (o.RetryPeriod <= 0 || o.RenewDeadline <= o.RetryPeriod || o.LeaseDuration <= o.RenewDeadline):
		return errors.New("leader election needs --leader-election-retry-period < --leader-election-renew-deadline < --leader-election-lease-duration")
	case o.LeaderNamespace != "" && len(validation.IsDNS1123Label(o.LeaderNamespace)) > 0:
		return fmt.Errorf("invalid --leader-election-namespace %q", o.LeaderNamespace)
	case o.LeaseName != "" && len(validation.IsDNS1123Subdomain(o.LeaseName)) > 0:
		return fmt.Errorf("invalid --leader-election-lease-name %q: want a DNS-1123 subdomain", o.LeaseName)
	case !validExternalURL(o.ExternalURL):
		return fmt.Errorf("invalid --external-url %q: want an absolute http(s) URL without query or fragment, e.g. https://hooks.example.com", o.ExternalURL)
	}
	for _, ns := range o.Namespaces {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			return fmt.Errorf("invalid namespace %q in --namespaces: %s", ns, strings.Join(msgs, "; "))
		}
	}
	return o.Console.validate(o.Listen)
}

// servedNamespaces is what Validate allowed: "" (all), --namespaces, or -n
// (else the kubeconfig's namespace), comma-joined for hookserver.ServerConfig.
func (o *HooksServeOptions) servedNamespaces() string {
	switch {
	case o.AllNamespaces:
		return ""
	case len(o.Namespaces) > 0:
		return strings.Join(hookserver.ServedNamespaces(o.Namespaces), ",")
	}
	return o.target.Namespace
}

// Run serves until the command's context ends (SIGINT/SIGTERM).
func (o *HooksServeOptions) Run(ctx context.Context) error {
	cfg, err := o.config()
	if err != nil {
		return err
	}
	if !o.Console.Enabled {
		return hookserver.Run(ctx, cfg)
	}
	c, err := o.newConsole(ctx, cfg.API.Log)
	if err != nil {
		return err
	}
	// The hook API and the console live and die together.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- hookserver.Run(ctx, cfg) }()
	go func() { errc <- console.Serve(ctx, c) }()
	err = <-errc
	cancel()
	if err2 := <-errc; err == nil {
		err = err2
	}
	return err
}

// config maps the flags to the server's Config.
func (o *HooksServeOptions) config() (hookserver.Config, error) {
	ec, err := o.target.engineConfig()
	if err != nil {
		return hookserver.Config{}, err
	}
	log := slog.New(slog.NewJSONHandler(o.ErrOut, &slog.HandlerOptions{Level: o.level}))
	cfg := hookserver.Config{
		API: hookserver.ServerConfig{Client: o.target.Client, Namespace: o.servedNamespaces(), Log: log,
			RateLimit: o.RateLimit, RateBurst: o.RateBurst, TriggerTimeout: o.TriggerTimeout,
			UnauthRateLimit: o.UnauthRateLimit, UnauthRateBurst: o.UnauthRateBurst,
			TrustedProxies: o.trusted, ExternalURL: o.ExternalURL},
		Serve: hookserver.ServeOptions{Listen: o.Listen, ShutdownDelay: o.ShutdownDelay, ShutdownTimeout: o.ShutdownTimeout,
			TLSCertFile: o.TLSCertFile, TLSKeyFile: o.TLSKeyFile},
		NewEngine: o.engine,
		Engine:    ec,
	}
	if !o.Notifications && !o.Schedules {
		return cfg, nil
	}
	restCfg, err := o.flags.ToRESTConfig()
	if err != nil {
		return hookserver.Config{}, fmt.Errorf("load kubeconfig: %w", err)
	}
	if o.WebhookAllowPrivate {
		log.Warn("--webhook-allow-private is deprecated: it allows every internal range; use --webhook-allow-cidrs")
	}
	cfg.RunEnds = &hookserver.RunEndsConfig{
		Sender: notify.Options{AllowInsecure: o.WebhookAllowInsecure, AllowPrivate: o.WebhookAllowPrivate,
			Allow: o.allowCIDRs, Deny: o.denyCIDRs, Internal: o.clusterCIDRs,
			ConnectTimeout: o.WebhookConnectTimeout, Timeout: o.WebhookTimeout},
		APIHost: restCfg.Host, Tries: o.WebhookTries, RetryInitial: o.WebhookRetryInitial,
		NoRunEnds: !o.Notifications, NoSchedules: !o.Schedules,
		LeaderElection: o.LeaderElection, DefaultNamespace: o.target.Namespace,
		Lease: runend.LeaderConfig{Namespace: o.LeaderNamespace, Name: o.LeaseName, Identity: o.LeaderIdentity,
			LeaseDuration: o.LeaseDuration, RenewDeadline: o.RenewDeadline, RetryPeriod: o.RetryPeriod},
	}
	return cfg, nil
}

// parseCIDRs reads CIDRs (an address alone is its own /32 or /128).
func parseCIDRs(in []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range in {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if a, err := netip.ParseAddr(c); err == nil && a.Zone() == "" {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR", c)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// validExternalURL: empty, or an absolute http(s) URL with a host and no
// user, query or fragment.
func validExternalURL(s string) bool {
	if s == "" {
		return true
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil &&
		u.RawQuery == "" && u.Fragment == "" && !u.ForceQuery && u.Opaque == ""
}
