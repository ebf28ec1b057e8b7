package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"time"
)

func (c *Cluster) path(name string) string { return filepath.Join(c.Dir, name) }

// writeConfig writes key material, tokens, kubeconfig, audit policy and the
// KWOK config into the cluster dir.
func (c *Cluster) writeConfig() error {
	p, err := writePKI(c.Dir)
	if err != nil {
		return err
	}
	if c.AdminToken, err = randomToken(); err != nil {
		return err
	}
	if c.LimitedToken, err = randomToken(); err != nil {
		return err
	}
	if err := writeTokens(c.path("tokens.csv"), c.AdminToken, c.LimitedToken); err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	if err := writeAuditPolicy(c.path("audit-policy.yaml")); err != nil {
		return fmt.Errorf("write audit policy: %w", err)
	}
	if err := writeKubeconfig(c.Kubeconfig, c.Server, p.caPEM, c.AdminToken, c.LimitedToken); err != nil {
		return err
	}
	if c.JWT != nil {
		if err := writeAuthenticationConfig(c.path("authentication-config.yaml"), *c.JWT); err != nil {
			return fmt.Errorf("write authentication config: %w", err)
		}
	}
	_, err = writeKwokConfig(c.Dir)
	return err
}

func (c *Cluster) startEtcd() error {
	client := "http://127.0.0.1:" + strconv.Itoa(c.Ports.EtcdClient)
	peer := "http://127.0.0.1:" + strconv.Itoa(c.Ports.EtcdPeer)
	_, err := c.start("etcd", EtcdBin,
		"--name", "shipjob", "--data-dir", c.path("etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "shipjob="+peer,
		"--unsafe-no-fsync", "--log-level", "warn")
	return err
}

// StartAPIServer starts kube-apiserver (again, after StopAPIServer) and waits
// until /readyz answers ok.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	var authn []string
	if c.JWT != nil {
		authn = []string{"--authentication-config", c.path("authentication-config.yaml")}
	}
	p, err := c.start("kube-apiserver", APIServerBin, append(authn,
		"--etcd-servers", "http://127.0.0.1:"+strconv.Itoa(c.Ports.EtcdClient),
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(c.Ports.APIServer),
		"--advertise-address", "127.0.0.1", "--endpoint-reconciler-type", "none",
		"--tls-cert-file", c.path("apiserver.crt"), "--tls-private-key-file", c.path("apiserver.key"),
		"--client-ca-file", c.path("ca.crt"),
		"--token-auth-file", c.path("tokens.csv"),
		"--authorization-mode", "RBAC",
		"--service-account-key-file", c.path("sa.pub"),
		"--service-account-signing-key-file", c.path("sa.key"),
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--kubelet-preferred-address-types", "InternalIP",
		"--audit-policy-file", c.path("audit-policy.yaml"), "--audit-log-path", c.AuditLog,
		"--audit-log-maxsize", "0", "--audit-log-mode", "blocking",
		"--allow-privileged", "--cert-dir", c.path("apiserver-certs"),
		"--shutdown-delay-duration", "0s", "--shutdown-watch-termination-grace-period", "0s",
		"--profiling=false", "-v", "1")...)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // loopback health probe only
	}}
	return waitFor(ctx, 90*time.Second, "kube-apiserver /readyz", func() (bool, error) {
		if !p.alive() {
			return false, fmt.Errorf("kube-apiserver: %w", errDied)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.Server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+c.AdminToken)
		resp, err := client.Do(req)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// StopAPIServer stops kube-apiserver only (fault-injection tests); the other
// daemons keep running and reconnect after StartAPIServer.
func (c *Cluster) StopAPIServer() {
	for i, p := range c.Processes {
		if p.Name == "kube-apiserver" {
			p.stop(0)
			c.Processes = append(c.Processes[:i], c.Processes[i+1:]...)
			return
		}
	}
}

func (c *Cluster) startControllers() error {
	if _, err := c.start("kube-controller-manager", ControllerManagerBin,
		"--kubeconfig", c.Kubeconfig,
		"--root-ca-file", c.path("ca.crt"),
		"--service-account-private-key-file", c.path("sa.key"),
		"--use-service-account-credentials=false",
		"--leader-elect=false", "--controllers", "*",
		"--bind-address", "127.0.0.1", "--secure-port", "0",
		"--concurrent-job-syncs", "10", "--concurrent-ttl-after-finished-syncs", "10",
		"--concurrent-gc-syncs", "10",
		"-v", "1"); err != nil {
		return err
	}
	if _, err := c.start("kube-scheduler", SchedulerBin,
		"--kubeconfig", c.Kubeconfig, "--leader-elect=false",
		"--bind-address", "127.0.0.1", "--secure-port", "0", "-v", "1"); err != nil {
		return err
	}
	return nil
}

func (c *Cluster) startKwok(withLogsCRD bool) error {
	port := strconv.Itoa(c.Ports.Kwok)
	args := []string{
		"--kubeconfig", c.Kubeconfig,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake",
		"--node-ip", "127.0.0.1", "--node-port", port,
		"--server-address", "127.0.0.1:" + port,
		"--config", c.path("kwok.yaml"),
	}
	if withLogsCRD {
		args = append(args, "--enable-crds", "Logs")
	}
	_, err := c.start("kwok", KwokBin, args...)
	return err
}
