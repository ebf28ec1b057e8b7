package hookserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/hook"
	"github.com/shipjob/kubectl-shipjob/plugin/notify"
	"github.com/shipjob/kubectl-shipjob/plugin/runend"
	"github.com/shipjob/kubectl-shipjob/plugin/schedule"
	"github.com/shipjob/kubectl-shipjob/plugin/version"
)

// DefaultLeaseName is the Lease the replicas share unless told otherwise.
const DefaultLeaseName = "shipjob-hooks"

// RunEndsConfig is the run-end processing of the served namespaces.
type RunEndsConfig struct {
	// Sender is the notifications' outbound policy. Run adds the API
	// server's addresses (APIHost, and the in-cluster service's) to its
	// Internal ranges and sets its User-Agent.
	Sender notify.Options
	// APIHost is the client configuration's API server (a URL or host).
	APIHost string
	// Tries and RetryInitial override notify.DefaultPolicy when positive.
	Tries        int
	RetryInitial time.Duration
	// LeaderElection elects the one replica that processes run ends with
	// Lease; off, this process does it. Lease's empty Identity defaults to
	// $POD_NAME, else HOST_PID; its empty Namespace to $POD_NAMESPACE, else
	// the first served namespace, else DefaultNamespace (the client's);
	// its empty Name to DefaultLeaseName.
	LeaderElection   bool
	Lease            runend.LeaderConfig
	DefaultNamespace string
}

// runEnds is the run-end processing of the served namespaces, under a
// Lease unless LeaderElection is off.
func runEnds(ctx context.Context, cfg Config, metrics *runend.Metrics, sched schedule.Config) func(context.Context) error {
	rc, log, ns := cfg.RunEnds, cfg.API.Log, cfg.API.Namespace
	so := rc.Sender
	api := apiAddresses(ctx, net.DefaultResolver, log, rc.APIHost, cfg.Getenv("KUBERNETES_SERVICE_HOST"))
	so.Internal = append(slices.Clone(so.Internal), api...)
	so.UserAgent = "kubectl-shipjob-hooks/" + version.Get().Version
	policy := notify.DefaultPolicy()
	if rc.Tries > 0 {
		policy.Tries = rc.Tries
	}
	if rc.RetryInitial > 0 {
		policy.Initial = rc.RetryInitial
	}
	lc := rc.Lease
	lc.Identity = identity(lc.Identity, cfg.Getenv)
	var statusURL func(string) string
	if cfg.API.ExternalURL != "" {
		base := strings.TrimSuffix(cfg.API.ExternalURL, "/")
		statusURL = func(r string) string { return base + hook.RunsPath + r }
	}
	p := runend.New(runend.Config{Client: cfg.API.Client, Namespaces: strings.Split(ns, ","), Sender: notify.NewSender(so),
		Policy: policy, Log: log, Metrics: metrics, StatusURL: statusURL, Identity: lc.Identity})
	// Schedules run on the same Lease as run ends (issue 21).
	sched.Client, sched.Namespaces, sched.Log, sched.Identity = cfg.API.Client, strings.Split(ns, ","), log, lc.Identity
	work := schedule.New(sched).With(p.Run)
	if !rc.LeaderElection {
		return func(ctx context.Context) error {
			metrics.Leader.Set(1)
			return work(context.WithoutCancel(ctx), ctx.Done())
		}
	}
	lc.Namespace = leaseNamespace(lc.Namespace, ns, rc.DefaultNamespace, cfg.Getenv)
	if lc.Name == "" {
		lc.Name = DefaultLeaseName
	}
	return func(ctx context.Context) error {
		return runend.Lead(ctx, cfg.API.Client, lc, log, metrics, work)
	}
}

// identity is this replica's name: given, else $POD_NAME, else HOST_PID.
func identity(given string, getenv func(string) string) string {
	if given != "" {
		return given
	}
	if pod := getenv("POD_NAME"); pod != "" {
		return pod
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s_%d", host, os.Getpid())
}

// leaseNamespace is the Lease's namespace: given, else $POD_NAMESPACE,
// else the first of the served namespaces, else the client's.
func leaseNamespace(given, served, client string, getenv func(string) string) string {
	for _, ns := range []string{given, getenv("POD_NAMESPACE"), strings.Split(served, ",")[0]} {
		if ns != "" {
			return ns
		}
	}
	return client
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
