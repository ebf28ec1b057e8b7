package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
	"github.com/shipjob/kubectl-shipjob/plugin/notify"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"github.com/shipjob/kubectl-shipjob/plugin/runend"
	"github.com/shipjob/kubectl-shipjob/plugin/schedule"
	"github.com/shipjob/kubectl-shipjob/plugin/version"
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
	// Unauthenticated requests, statusUrl and TLS (review L5, L7).
	UnauthRateLimit float64
	UnauthRateBurst int
	TrustedProxies  []string
	ExternalURL     string
	TLSCertFile     string
	TLSKeyFile      string
	// Run ends (issue 15): leader election and notifications.
	Notifications         bool
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

	trusted []netip.Prefix
	// Parsed --webhook-allow-cidrs, --webhook-deny-cidrs, --cluster-cidrs.
	allowCIDRs, denyCIDRs, clusterCIDRs []netip.Prefix
	flags                               *genericclioptions.ConfigFlags
	engine                              run.NewEngine // triggers runs, deletes jobs (helmrun.New, from main)
	target                              target
	level                               slog.Level
	genericiooptions.IOStreams
}

func newHooksServeCmd(flags *genericclioptions.ConfigFlags, engine run.NewEngine, streams genericiooptions.IOStreams) *cobra.Command {
	o := &HooksServeOptions{flags: flags, engine: engine, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "serve [--listen :8080] [-n NAMESPACE | --namespaces NS1,NS2 | -A]",
		Short: "Serve the deploy hook HTTP API (Shipmight-compatible) for the given namespaces",
		Long: `Serve deploy hooks over HTTP. Inside a pod (KUBERNETES_SERVICE_HOST set, no
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

Run any number of replicas: state lives in the API server, and triggers of
one job are serialized across replicas. Logs are JSON lines on stderr (requests
without a valid token and 404s at debug level); SIGTERM finishes in-flight
triggers before exiting.`,
		Example: `  kubectl shipjob hooks serve -n team-a
  kubectl shipjob hooks serve --namespaces jobs-a,jobs-b --listen 127.0.0.1:8080 --rate-limit 2 --rate-burst 20
  kubectl shipjob hooks serve -n team-a --external-url https://hooks.example.com \
    --tls-cert-file /tls/tls.crt --tls-key-file /tls/tls.key`,
		Args: cobra.NoArgs,
		RunE: runE(o),
	}
	f := cmd.Flags()
	f.StringVar(&o.Listen, "listen", ":8080", "Address to listen on")
	f.StringSliceVar(&o.Namespaces, "namespaces", nil, "Serve the hooks of these namespaces (comma-separated or repeated; one watch each): a Role in each suffices")
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
	f.StringSliceVar(&o.TrustedProxies, "trusted-proxies", nil, "Proxies (CIDRs or addresses, e.g. 10.0.0.0/8) whose X-Forwarded-For names the client for --unauthenticated-rate-limit; by default the connection's peer is the client")
	f.StringVar(&o.ExternalURL, "external-url", "", "URL clients reach the server at, e.g. https://hooks.example.com: the base of statusUrl in 201 answers (default: statusUrl is a path such as /api/v1/dh/runs/RUN; never taken from the request's Host or X-Forwarded-* headers)")
	f.StringVar(&o.TLSCertFile, "tls-cert-file", "", "Serve HTTPS with this PEM certificate (chain), re-read when it changes; needs --tls-key-file")
	f.StringVar(&o.TLSKeyFile, "tls-key-file", "", "PEM private key of --tls-cert-file, re-read when it changes")
	f.BoolVar(&o.Notifications, "notifications", true, "Process run ends (one replica, the leader): TTL by outcome (retentionFailed), Events, run metrics, the jobs' webhook notifications")
	f.BoolVar(&o.LeaderElection, "leader-election", true, "Elect the replica that processes run ends with a Lease; off: this process does it, so run only one")
	f.StringVar(&o.LeaderNamespace, "leader-election-namespace", "", "Namespace of the Lease (default: $POD_NAMESPACE, else the first served namespace)")
	f.StringVar(&o.LeaseName, "leader-election-lease-name", "shipjob-hooks", "Name of the Lease the replicas share")
	f.StringVar(&o.LeaderIdentity, "leader-election-identity", "", "This replica's name in the Lease (default: $POD_NAME, else HOST_PID)")
	f.DurationVar(&o.LeaseDuration, "leader-election-lease-duration", 15*time.Second, "How long a leader's Lease holds without renewal before another replica may take over")
	f.DurationVar(&o.RenewDeadline, "leader-election-renew-deadline", 10*time.Second, "A leader that cannot renew within this stops leading (shorter than the lease duration)")
	f.DurationVar(&o.RetryPeriod, "leader-election-retry-period", 2*time.Second, "How often replicas try to take or renew the Lease")
	f.BoolVar(&o.WebhookAllowInsecure, "webhook-allow-insecure", false, "Send notifications over plain http too (default: https only)")
	f.BoolVar(&o.WebhookAllowPrivate, "webhook-allow-private", false, "Allow every internal range, as --webhook-allow-cidrs listing them would (never cloud metadata addresses)")
	_ = f.MarkDeprecated("webhook-allow-private", "use --webhook-allow-cidrs with the ranges to allow, e.g. 127.0.0.0/8,10.0.0.0/8")
	f.StringSliceVar(&o.WebhookAllowCIDRs, "webhook-allow-cidrs", nil, "Ranges notifications may go to although internal (loopback, private, link-local, CGNAT, …, --cluster-cidrs, the API server's addresses), e.g. 127.0.0.0/8,10.20.0.0/16; cloud metadata addresses stay refused")
	f.StringSliceVar(&o.WebhookDenyCIDRs, "webhook-deny-cidrs", nil, "Ranges notifications never go to, whatever --webhook-allow-cidrs says")
	f.StringSliceVar(&o.ClusterCIDRs, "cluster-cidrs", nil, "The cluster's pod and service networks, IPv4 and IPv6 (e.g. 10.244.0.0/16,10.96.0.0/12,fd00:10:244::/56): refused as webhook receivers unless --webhook-allow-cidrs covers them")
	f.DurationVar(&o.WebhookConnectTimeout, "webhook-connect-timeout", 5*time.Second, "Longest wait to connect to a webhook, TLS handshake included, per try")
	f.DurationVar(&o.WebhookTimeout, "webhook-timeout", 10*time.Second, "Longest wait for a webhook's answer once connected, per try")
	f.IntVar(&o.WebhookTries, "webhook-tries", 5, "Tries of a notification on network errors, 429 and 5xx (1-10)")
	f.DurationVar(&o.WebhookRetryInitial, "webhook-retry-initial", 15*time.Second, "Wait before the second try; each further wait is 3 times longer (at most 4m)")
	return cmd
}

// Complete builds the client (in-cluster or kubeconfig) with a client-side
// rate limit fit for concurrent triggers.
func (o *HooksServeOptions) Complete(_ *cobra.Command, _ []string) error {
	if err := o.level.UnmarshalText([]byte(o.LogLevel)); err != nil {
		return fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", o.LogLevel)
	}
	var err error
	if o.trusted, err = hook.ParseTrustedProxies(o.TrustedProxies); err != nil {
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
	return nil
}

// servedNamespaces is what Validate allowed: "" (all), --namespaces, or -n
// (else the kubeconfig's namespace), comma-joined for hook.Config.
func (o *HooksServeOptions) servedNamespaces() string {
	switch {
	case o.AllNamespaces:
		return ""
	case len(o.Namespaces) > 0:
		return strings.Join(hook.ServedNamespaces(o.Namespaces), ",")
	}
	return o.target.Namespace
}

// Run serves until the command's context ends (SIGINT/SIGTERM).
func (o *HooksServeOptions) Run(ctx context.Context) error {
	ns := o.servedNamespaces()
	log := slog.New(slog.NewJSONHandler(o.ErrOut, &slog.HandlerOptions{Level: o.level}))
	// The very trigger of `kubectl shipjob run`.
	stale, err := run.StaleAfterFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	pruneFailures := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shipjob_hooks_prune_failures_total",
		Help: "Old Helm release records a trigger could not delete, by namespace and job (the history grows until a later trigger can).",
	}, []string{"namespace", "job"})
	trigger := o.engine(run.EngineConfig{Client: o.target.Client, Getter: o.flags, Clock: o.target.Clock, StaleAfter: stale,
		// The trigger's whole budget may go to waiting for other triggers
		// of its job (the lock wait was capped at 2 minutes before).
		LockTimeout: o.TriggerTimeout,
		// The chart's Role grants delete, not deletecollection.
		PruneByName: true,
		OnPruneFailure: func(ns, job string, failed int, err error) {
			log.Warn("pruning Helm history failed", "namespace", ns, "job", job, "records", failed, "err", err.Error())
			pruneFailures.WithLabelValues(ns, job).Add(float64(failed))
		}})
	cfg := hook.Config{
		Client:         o.target.Client,
		Triggerer:      trigger,
		Namespace:      ns,
		Log:            log,
		RateLimit:      o.RateLimit,
		RateBurst:      o.RateBurst,
		TriggerTimeout: o.TriggerTimeout,
		// Review L5, L7.
		UnauthRateLimit: o.UnauthRateLimit,
		UnauthRateBurst: o.UnauthRateBurst,
		TrustedProxies:  o.trusted,
		ExternalURL:     o.ExternalURL,
		Collectors:      []prometheus.Collector{pruneFailures},
	}
	if !o.Notifications {
		return hook.Serve(ctx, cfg, hook.ServeOptions{Listen: o.Listen, ShutdownDelay: o.ShutdownDelay, ShutdownTimeout: o.ShutdownTimeout,
			TLSCertFile: o.TLSCertFile, TLSKeyFile: o.TLSKeyFile})
	}
	metrics, schedMetrics := runend.NewMetrics(), schedule.NewMetrics()
	cfg.Collectors = append(append(cfg.Collectors, metrics.Collectors()...), schedMetrics.Collectors()...)
	lead, err := o.runEnds(ctx, ns, log, metrics, schedule.Config{Trigger: trigger.Trigger, Metrics: schedMetrics})
	if err != nil {
		return err
	}
	// client-go's leader election logs through klog: as JSON lines too.
	klog.SetSlogLogger(log)
	ended := make(chan error, 1)
	started := false
	err = hook.Serve(ctx, cfg, hook.ServeOptions{Listen: o.Listen, ShutdownDelay: o.ShutdownDelay, ShutdownTimeout: o.ShutdownTimeout,
		TLSCertFile: o.TLSCertFile, TLSKeyFile: o.TLSKeyFile,
		// Only a server that could start takes part in the election.
		Listening: func() { started = true; go func() { ended <- lead(ctx) }() }})
	if err != nil || !started {
		return err // ctx is not done: the process exits, and the Lease expires
	}
	return <-ended
}

// runEnds is the run-end processing of the served namespaces ns, under a
// Lease unless --leader-election=false.
func (o *HooksServeOptions) runEnds(ctx context.Context, ns string, log *slog.Logger, metrics *runend.Metrics, sched schedule.Config) (func(context.Context) error, error) {
	restCfg, err := o.flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	if o.WebhookAllowPrivate {
		log.Warn("--webhook-allow-private is deprecated: it allows every internal range; use --webhook-allow-cidrs")
	}
	api := apiAddresses(ctx, net.DefaultResolver, log, restCfg.Host, os.Getenv("KUBERNETES_SERVICE_HOST"))
	sender := notify.NewSender(notify.Options{AllowInsecure: o.WebhookAllowInsecure, AllowPrivate: o.WebhookAllowPrivate,
		Allow: o.allowCIDRs, Deny: o.denyCIDRs, Internal: append(slices.Clone(o.clusterCIDRs), api...),
		ConnectTimeout: o.WebhookConnectTimeout, Timeout: o.WebhookTimeout,
		UserAgent: "kubectl-shipjob-hooks/" + version.Get().Version})
	policy := notify.DefaultPolicy()
	if o.WebhookTries > 0 {
		policy.Tries = o.WebhookTries
	}
	if o.WebhookRetryInitial > 0 {
		policy.Initial = o.WebhookRetryInitial
	}
	identity := o.LeaderIdentity
	if identity == "" {
		identity = os.Getenv("POD_NAME")
	}
	if identity == "" {
		host, _ := os.Hostname()
		identity = fmt.Sprintf("%s_%d", host, os.Getpid())
	}
	var statusURL func(string) string
	if o.ExternalURL != "" {
		base := strings.TrimSuffix(o.ExternalURL, "/")
		statusURL = func(r string) string { return base + "/api/v1/dh/runs/" + r }
	}
	p := runend.New(runend.Config{Client: o.target.Client, Namespaces: strings.Split(ns, ","), Sender: sender, Policy: policy,
		Log: log, Metrics: metrics, StatusURL: statusURL, Identity: identity})
	// Schedules run on the same Lease as run ends (issue 21).
	sched.Client, sched.Namespaces, sched.Log, sched.Identity = o.target.Client, strings.Split(ns, ","), log, identity
	work := schedule.New(sched).With(p.Run)
	if !o.LeaderElection {
		return func(ctx context.Context) error {
			metrics.Leader.Set(1)
			return work(context.WithoutCancel(ctx), ctx.Done())
		}, nil
	}
	leaseNS := o.LeaderNamespace
	if leaseNS == "" {
		leaseNS = os.Getenv("POD_NAMESPACE")
	}
	if leaseNS == "" {
		leaseNS = strings.Split(ns, ",")[0]
	}
	if leaseNS == "" {
		leaseNS = o.target.Namespace
	}
	lease := o.LeaseName
	if lease == "" {
		lease = "shipjob-hooks"
	}
	lc := runend.LeaderConfig{Namespace: leaseNS, Name: lease, Identity: identity,
		LeaseDuration: o.LeaseDuration, RenewDeadline: o.RenewDeadline, RetryPeriod: o.RetryPeriod}
	return func(ctx context.Context) error {
		return runend.Lead(ctx, o.target.Client, lc, log, metrics, work)
	}, nil
}

// apiAddresses are the cluster's own API server addresses, refused as
// webhook receivers unless allowed (a notification must not become a
// request to the API server): the kubeconfig's host and the in-cluster
// service address, names resolved once at start (review N8).
func apiAddresses(ctx context.Context, r *net.Resolver, log *slog.Logger, hosts ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, h := range hosts {
		if u, err := url.Parse(h); err == nil && u.Host != "" {
			h = u.Hostname()
		}
		h = strings.Trim(h, "[]")
		if h == "" {
			continue
		}
		addrs := []netip.Addr{}
		if a, err := netip.ParseAddr(h); err == nil {
			addrs = append(addrs, a)
		} else {
			lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			resolved, err := r.LookupNetIP(lctx, "ip", h)
			cancel()
			if err != nil {
				log.Warn("the API server's name does not resolve: its addresses are not denied to webhooks by name", "host", h, "err", err.Error())
			}
			addrs = append(addrs, resolved...)
		}
		for _, a := range addrs {
			a = a.Unmap().WithZone("")
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
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
