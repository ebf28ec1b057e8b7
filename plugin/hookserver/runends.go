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

// RunEndsConfig is the leader's work in the served namespaces: the
// run-end processing and the schedules (either may be turned off).
type RunEndsConfig struct {
	// NoRunEnds turns off the run-end processing (--notifications=false),
	// NoSchedules the schedules (--schedules=false).
	NoRunEnds, NoSchedules bool
	// Sender is the notifications' outbound policy. Run adds the API
	// server's addresses (APIHost, and the in-cluster service's) to its
	// Internal ranges and sets its User-Agent.
	Sender notify.Options
	// APIHost is the client configuration's API server (a URL or host).
	APIHost string
	// Tries and RetryInitial override notify.DefaultPolicy when positive.
	Tries        int
	RetryInitial time.Duration
	// LeaderElection elects the one replica that processes run ends and
	// runs schedules with Lease; off, this process does it. Lease's empty Identity defaults to
	// $POD_NAME, else HOST_PID; its empty Namespace to $POD_NAMESPACE, else
	// the first served namespace, else DefaultNamespace (the client's);
	// its empty Name to DefaultLeaseName.
	LeaderElection   bool
	Lease            runend.LeaderConfig
	DefaultNamespace string
}

// runEnds is the leader's work in the served namespaces (run ends and
// schedules), under a Lease unless LeaderElection is off.
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
	var work func(context.Context, <-chan struct{}) error
	if !rc.NoRunEnds {
		work = runend.New(runend.Config{Client: cfg.API.Client, Namespaces: strings.Split(ns, ","), Sender: notify.NewSender(so),
			Policy: policy, Log: log, Metrics: metrics, StatusURL: statusURL, Identity: lc.Identity}).Run
	}
	// Schedules run on the same Lease as run ends (issue 21), or alone.
	if !rc.NoSchedules {
		sched.Client, sched.Namespaces, sched.Log, sched.Identity = cfg.API.Client, strings.Split(ns, ","), log, lc.Identity
		sched.Heartbeat, sched.HeartbeatTTL = heartbeat(rc)
		if s := schedule.New(sched); work == nil {
			work = s.Run
		} else {
			work = s.With(work)
		}
	}
	if work == nil {
		return func(context.Context) error { return nil }
	}
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

// heartbeat is how often the schedules' heartbeat is renewed and how long
// it holds: every 15s (or the Lease duration when shorter), for a Lease
// duration and two renewals (a new leader renews it before it goes stale).
func heartbeat(rc *RunEndsConfig) (every, ttl time.Duration) {
	lease := rc.Lease.LeaseDuration
	if lease <= 0 || !rc.LeaderElection {
		lease = 15 * time.Second
	}
	every = min(schedule.DefaultHeartbeat, lease)
	return every, lease + 2*every
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
