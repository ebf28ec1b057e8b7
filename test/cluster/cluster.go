// Package cluster runs a real local Kubernetes control plane for tests, the
// demo and benchmarks: etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler of Kubernetes v1.37.2 (built from source by `make
// cluster-bins`) plus KWOK, which simulates a node that runs pods.
//
// Every cluster gets its own temp dir and random loopback ports, so several
// can run side by side. All state is in Dir; Load re-attaches to a cluster
// started by another process (make cluster-up / cluster-down).
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Binary names expected in Options.BinDir.
const (
	EtcdBin              = "etcd"
	APIServerBin         = "kube-apiserver"
	ControllerManagerBin = "kube-controller-manager"
	SchedulerBin         = "kube-scheduler"
	KwokBin              = "kwok"
	// LogsCRDFile, when present in BinDir, is applied and KWOK serves
	// per-pod log content from kwok.x-k8s.io Logs objects.
	LogsCRDFile = "kwok.x-k8s.io_logs.yaml"
)

// NodeName is the simulated node every pod lands on.
const NodeName = "kwok-node-0"

// Options configure Start.
type Options struct {
	// BinDir holds the binaries listed above.
	BinDir string
	// Dir is the cluster's state dir; empty means a new temp dir.
	Dir string
	// Detach keeps the daemons running after this process exits (cluster-up).
	Detach bool
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// JWT, when set, makes kube-apiserver trust ID tokens of an OpenID
	// Connect issuer (--authentication-config); client certificates and the
	// token file keep working beside it.
	JWT *JWTIssuer
}

// JWTIssuer is an OpenID Connect issuer the API server trusts: username
// from the email claim and groups from the groups claim, both unprefixed.
type JWTIssuer struct {
	URL      string `json:"url"`
	CAPEM    string `json:"caPEM"`
	Audience string `json:"audience"`
}

// Cluster is a running local control plane.
type Cluster struct {
	Dir          string     `json:"dir"`
	Server       string     `json:"server"`
	Kubeconfig   string     `json:"kubeconfig"`
	AdminToken   string     `json:"adminToken"`
	LimitedToken string     `json:"limitedToken"`
	AuditLog     string     `json:"auditLog"`
	Ports        Ports      `json:"ports"`
	Processes    []*process `json:"processes"`
	BinDir       string     `json:"binDir"`
	JWT          *JWTIssuer `json:"jwt,omitempty"`
	detach       bool
	log          io.Writer
}

// Ports are the loopback ports the cluster listens on.
type Ports struct {
	EtcdClient, EtcdPeer, APIServer, Kwok int
}

const stateFile = "cluster.json"

// Start brings up a cluster and waits until it is ready: API server healthy,
// the simulated node Ready, RBAC for the limited user in place.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if opts.BinDir, err = filepath.Abs(opts.BinDir); err != nil {
		return nil, fmt.Errorf("bin dir: %w", err)
	}
	for _, b := range []string{EtcdBin, APIServerBin, ControllerManagerBin, SchedulerBin, KwokBin} {
		if _, err := os.Stat(filepath.Join(opts.BinDir, b)); err != nil {
			return nil, fmt.Errorf("missing %s in %s (run `make cluster-bins`): %w", b, opts.BinDir, err)
		}
	}
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "shipjob-cluster-"); err != nil {
			return nil, fmt.Errorf("create cluster dir: %w", err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create cluster dir: %w", err)
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	c := &Cluster{Dir: dir, BinDir: opts.BinDir, detach: opts.Detach, log: log, JWT: opts.JWT,
		Kubeconfig: filepath.Join(dir, "kubeconfig"), AuditLog: filepath.Join(dir, "audit.log")}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w (logs in %s)", err, filepath.Join(dir, "logs"))
			c.Stop()
		}
	}()
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	c.Ports = Ports{EtcdClient: ports[0], EtcdPeer: ports[1], APIServer: ports[2], Kwok: ports[3]}
	c.Server = "https://127.0.0.1:" + strconv.Itoa(c.Ports.APIServer)
	if err := c.writeConfig(); err != nil {
		return nil, err
	}
	if err := c.startEtcd(); err != nil {
		return nil, err
	}
	if err := c.StartAPIServer(ctx); err != nil {
		return nil, err
	}
	if err := c.startControllers(); err != nil {
		return nil, err
	}
	if err := c.bootstrap(ctx); err != nil {
		return nil, err
	}
	if err := c.save(); err != nil {
		return nil, err
	}
	return c, nil
}

// Load re-attaches to a cluster started by another process.
func Load(dir string) (*Cluster, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, fmt.Errorf("read cluster state: %w", err)
	}
	c := &Cluster{log: io.Discard}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("parse cluster state: %w", err)
	}
	return c, nil
}

func (c *Cluster) save() error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encode cluster state: %w", err)
	}
	return os.WriteFile(filepath.Join(c.Dir, stateFile), data, 0o600)
}

// Stop ends every daemon (reverse start order) and removes the cluster dir.
func (c *Cluster) Stop() {
	for i := len(c.Processes) - 1; i >= 0; i-- {
		c.Processes[i].stop(3 * time.Second)
	}
	c.Processes = nil
	if c.Dir != "" {
		_ = os.RemoveAll(c.Dir)
	}
}

// Alive reports whether every daemon of the cluster still runs.
func (c *Cluster) Alive() bool {
	for _, p := range c.Processes {
		if !p.alive() {
			return false
		}
	}
	return len(c.Processes) > 0
}

func (c *Cluster) bin(name string) string { return filepath.Join(c.BinDir, name) }

func (c *Cluster) start(name, bin string, args ...string) (*process, error) {
	p, err := startProcess(c.Dir, name, c.bin(bin), args, c.detach)
	if err != nil {
		return nil, err
	}
	c.Processes = append(c.Processes, p)
	fmt.Fprintf(c.log, "started %s (pid %d)\n", name, p.PID)
	return p, nil
}

func (c *Cluster) process(name string) *process {
	for _, p := range c.Processes {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// freePorts asks the kernel for n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitFor polls check every interval until it returns true, an error, or ctx
// or the timeout ends.
func waitFor(ctx context.Context, timeout time.Duration, what string, check func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		ok, err := check()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("waiting for %s: %w (last error: %w)", what, ctx.Err(), last)
			}
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

var errDied = errors.New("process exited")
