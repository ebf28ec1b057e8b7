package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/test/bench/benchkit"
)

func soak(o options) error {
	ctx := context.Background()
	c, plugin, err := benchkit.Running(o.state, o.plugin)
	if err != nil {
		return err
	}
	o.plugin = plugin
	cfg, err := c.RESTConfig(false)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = -1, 0 // no client-side limit: the pre-fill and the drive are the load
	cfg.UserAgent = "soak"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	env := append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	rc, err := startReceiver()
	if err != nil {
		return err
	}
	spaces, err := makeWorld(ctx, c, cs, env, o, rc.addr)
	if err != nil {
		return err
	}
	names := make([]string, len(spaces))
	for i, sp := range spaces {
		names[i] = sp.ns
	}
	if o.serverLog == "" {
		o.serverLog = filepath.Join(os.TempDir(), fmt.Sprintf("soak-hooks-serve-%d.log", time.Now().Unix()))
	}
	started := time.Now()
	srv, err := startServer(env, o.plugin, names, o.allNS, o.serverLog)
	if err != nil {
		return err
	}
	defer srv.stop()
	select {
	case <-srv.leading:
	case <-time.After(5 * time.Minute):
		return fmt.Errorf("hooks serve did not lead within 5 minutes: see %s", o.serverLog)
	}
	logf("hooks serve (pid %d, log %s) leads and processes run ends after %s", srv.cmd.Process.Pid, o.serverLog,
		time.Since(started).Round(10*time.Millisecond))

	d := newDriver(cs, spaces, o)
	if o.deleteNotified {
		delCtx, stopDeleting := context.WithCancel(ctx)
		defer stopDeleting()
		for range 4 {
			go d.deleter(delCtx)
		}
		rc.mu.Lock()
		rc.notified = d.deleteLater
		rc.mu.Unlock()
	}
	s := &sampler{srv: srv, rc: rc, d: d, cs: cs, cpu: newCPUWatch(c.Dir, srv.cmd.Process.Pid)}
	auditFrom := fileSize(c.AuditLog)
	s.sample(ctx, "start")
	driveCtx, stopDriving := context.WithTimeout(ctx, o.duration)
	defer stopDriving()
	drove := make(chan struct{})
	go func() {
		d.drive(driveCtx)
		close(drove)
	}()
	logf("driving %.0f run ends/s over %d namespaces for %s", o.rate, len(spaces), o.duration)
	tick := time.NewTicker(o.sample)
	defer tick.Stop()
	for driving := true; driving; {
		select {
		case <-tick.C:
			s.sample(ctx, "")
		case <-drove:
			driving = false
		}
	}
	auditTo := fileSize(c.AuditLog)
	s.sample(ctx, "end")
	// What is still due: wait until every ended run is notified, at most
	// -drain.
	drainStart := time.Now()
	for time.Since(drainStart) < o.drain {
		ends, _, _, _ := d.snapshot()
		if missing(ends, rc) == 0 {
			break
		}
		time.Sleep(2 * time.Second)
	}
	time.Sleep(2 * time.Second) // a duplicate would come now
	s.sample(ctx, "drained")
	var reqs requests
	if o.audit {
		if reqs, err = countServerRequests(c.AuditLog, auditFrom, auditTo); err != nil {
			logf("audit log not read: %v", err)
		}
	}
	return report(o, s, d, rc, srv, reqs)
}

// missing counts ended runs not notified yet.
func missing(ends map[string]end, rc *receiver) int {
	n := 0
	for k := range ends {
		if _, count := rc.first(k); count == 0 {
			n++
		}
	}
	return n
}

// jobsTotal is the number of Jobs in the cluster (every one is a run here).
func jobsTotal(ctx context.Context, cs kubernetes.Interface) int {
	list, err := cs.BatchV1().Jobs("").List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return -1
	}
	n := len(list.Items)
	if list.RemainingItemCount != nil {
		n += int(*list.RemainingItemCount)
	}
	return n
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
