// Command localcluster starts and stops the project's local Kubernetes for
// humans (make cluster-up / cluster-down / demo). Tests use package cluster
// directly.
//
//	localcluster up   --bin DIR --state DIR   start (detached), print the export line
//	localcluster down --state DIR             stop it and remove its files
//	localcluster env  --state DIR             print the export line of the running one
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: localcluster up|down|env [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	bin := fs.String("bin", "", "directory with etcd, kube-*, kwok")
	state := fs.String("state", ".cache/cluster-state", "directory that remembers the running cluster")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	current := filepath.Join(*state, "current")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch args[0] {
	case "up":
		if c, err := loadCurrent(current); err == nil && c.Alive() {
			fmt.Fprintln(os.Stderr, "local cluster already running")
			printEnv(c)
			return nil
		}
		if err := os.MkdirAll(*state, 0o755); err != nil {
			return err
		}
		start := time.Now()
		c, err := cluster.Start(ctx, cluster.Options{BinDir: *bin, Detach: true, Log: os.Stderr})
		if err != nil {
			return err
		}
		if err := os.WriteFile(current, []byte(c.Dir), 0o644); err != nil {
			c.Stop()
			return err
		}
		fmt.Fprintf(os.Stderr, "local cluster ready in %.1fs (%s)\n", time.Since(start).Seconds(), c.Server)
		printEnv(c)
	case "down":
		c, err := loadCurrent(current)
		if err != nil {
			fmt.Fprintln(os.Stderr, "no local cluster running")
			return nil
		}
		c.Stop()
		_ = os.Remove(current)
		fmt.Fprintln(os.Stderr, "local cluster stopped")
	case "env":
		c, err := loadCurrent(current)
		if err != nil {
			return err
		}
		printEnv(c)
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
	return nil
}

func loadCurrent(path string) (*cluster.Cluster, error) {
	dir, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return cluster.Load(strings.TrimSpace(string(dir)))
}

func printEnv(c *cluster.Cluster) {
	fmt.Printf("export KUBECONFIG=%s\n", c.Kubeconfig)
}
