package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// Fault injection for the chaos tests (build tag chaos in test/e2e): a
// daemon is killed and restarted with the same arguments and ports, or
// paused and resumed. Names are the daemons' binaries: "etcd",
// "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok".

// Kill sends SIGKILL to the daemon's process group (no shutdown of any
// kind) and waits until it is gone. Restart brings it back.
func (c *Cluster) Kill(name string) error {
	p := c.process(name)
	if p == nil {
		return fmt.Errorf("kill %s: no such daemon", name)
	}
	_ = syscall.Kill(-p.PID, syscall.SIGCONT) // a paused daemon dies too
	if err := syscall.Kill(-p.PID, syscall.SIGKILL); err != nil && p.alive() {
		return fmt.Errorf("kill %s: %w", name, err)
	}
	for i := 0; i < 250 && p.alive(); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if p.alive() {
		return fmt.Errorf("kill %s: still running 5s after SIGKILL", name)
	}
	return nil
}

// Restart starts a killed daemon again with the arguments (and so the
// ports and data) it had, in its place of the stop order, and waits until
// it answers: kube-apiserver's /readyz, etcd's /health.
func (c *Cluster) Restart(ctx context.Context, name string) error {
	return c.RestartWith(ctx, name, nil)
}

// Args are the arguments the daemon was (last) started with.
func (c *Cluster) Args(name string) []string {
	if p := c.process(name); p != nil {
		return append([]string(nil), p.Args...)
	}
	return nil
}

// RestartWith is Restart with other arguments (nil: the same); later
// Restarts keep them. A flag given twice takes its last value, so
// append(c.Args(name), "--flag=v") changes one flag.
func (c *Cluster) RestartWith(ctx context.Context, name string, args []string) error {
	for i, p := range c.Processes {
		if p.Name != name {
			continue
		}
		if p.alive() {
			return fmt.Errorf("restart %s: still running (Kill it first)", name)
		}
		if args == nil {
			args = p.Args
		}
		np, err := startProcess(c.Dir, name, c.bin(name), args, c.detach)
		if err != nil {
			return err
		}
		c.Processes[i] = np
		switch name {
		case APIServerBin:
			return c.waitAPIServer(ctx, np)
		case EtcdBin:
			return c.waitEtcd(ctx, np)
		}
		return nil
	}
	return fmt.Errorf("restart %s: no such daemon", name)
}

// Pause stops the daemon with SIGSTOP: its sockets stay open, nothing
// answers (a hung etcd, not a crashed one). Resume continues it.
func (c *Cluster) Pause(name string) error { return c.signal(name, syscall.SIGSTOP) }

// Resume continues a paused daemon with SIGCONT.
func (c *Cluster) Resume(name string) error { return c.signal(name, syscall.SIGCONT) }

func (c *Cluster) signal(name string, sig syscall.Signal) error {
	p := c.process(name)
	if p == nil || !p.alive() {
		return fmt.Errorf("signal %s: %s is not running", sig, name)
	}
	if err := syscall.Kill(-p.PID, sig); err != nil {
		return fmt.Errorf("signal %s to %s: %w", sig, name, err)
	}
	return nil
}

// probe is the loopback health client of the daemons.
var probe = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // loopback health probe only
}}

func (c *Cluster) waitAPIServer(ctx context.Context, p *process) error {
	return waitFor(ctx, 90*time.Second, "kube-apiserver /readyz", func() (bool, error) {
		if !p.alive() {
			return false, fmt.Errorf("kube-apiserver: %w", errDied)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.Server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+c.AdminToken)
		resp, err := probe.Do(req)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

func (c *Cluster) waitEtcd(ctx context.Context, p *process) error {
	url := "http://127.0.0.1:" + strconv.Itoa(c.Ports.EtcdClient) + "/health"
	return waitFor(ctx, 60*time.Second, "etcd /health", func() (bool, error) {
		if !p.alive() {
			return false, fmt.Errorf("etcd: %w", errDied)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := probe.Do(req)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}
