package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// replica is one `hooks serve` process.
type replica struct {
	name string
	url  string
	cmd  *exec.Cmd
	log  string
}

// startReplicas starts two `hooks serve` replicas of bin for the world's
// namespace, without the per-hook rate limit, and waits until both are
// ready. With pprof set, replica 0 serves net/http/pprof there (a
// profiling build).
func startReplicas(w *world, bin, out, tag, pprof string) ([]*replica, error) {
	var rs []*replica
	for i := range 2 {
		r := &replica{name: fmt.Sprintf("%s-%d", tag, i), log: filepath.Join(out, fmt.Sprintf("hooks-serve-%s-%d.log", tag, i))}
		f, err := os.Create(r.log)
		if err != nil {
			stopReplicas(rs)
			return nil, err
		}
		r.cmd = exec.Command(bin, "hooks", "serve", "-n", w.ns, "--listen", "127.0.0.1:0", "--rate-limit", "0")
		r.cmd.Env = w.env
		if i == 0 && pprof != "" {
			r.cmd.Env = append(r.cmd.Env, "SHIPJOB_PPROF_ADDR="+pprof)
		}
		r.cmd.Stderr = f
		err = r.cmd.Start()
		f.Close()
		if err != nil {
			stopReplicas(rs)
			return nil, err
		}
		rs = append(rs, r)
	}
	for _, r := range rs {
		if err := r.waitReady(); err != nil {
			stopReplicas(rs)
			return nil, err
		}
	}
	return rs, nil
}

// waitReady reads the listening address off the log and waits for /readyz.
func (r *replica) waitReady() error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if r.url == "" {
			data, _ := os.ReadFile(r.log)
			for _, l := range strings.Split(string(data), "\n") {
				var line struct{ Msg, Addr string }
				if json.Unmarshal([]byte(l), &line) == nil && line.Msg == "listening" {
					r.url = "http://" + line.Addr
				}
			}
		} else if resp, err := http.Get(r.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("hooks serve %s not ready within a minute (log %s)", r.name, r.log)
}

// stopReplicas sends SIGTERM to each replica and waits for it.
func stopReplicas(rs []*replica) {
	for _, r := range rs {
		if r.cmd.ProcessState == nil {
			_ = r.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, r := range rs {
		if r.cmd.ProcessState == nil {
			_ = r.cmd.Wait()
		}
	}
}

// cpuSeconds is the user+system CPU time a process has used.
func cpuSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces): utime and
	// stime are fields 14 and 15 of the line, 12 and 13 after ") ".
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// machineCPU is the machine's busy and total CPU time (jiffies) from /proc/stat.
func machineCPU() (busy, total float64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(strings.SplitN(string(data), "\n", 2)[0])[1:]
	for i, v := range f {
		x, _ := strconv.ParseFloat(v, 64)
		total += x
		if i != 3 && i != 4 { // idle, iowait
			busy += x
		}
	}
	return busy, total
}

// loadAvg is the 1-minute load average.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(data))[0]
}

// newRawClient is a clientset for raw creates: protobuf like the hook
// server's, no client-side rate limit (hooks serve has none by default),
// its own user agent for the audit log.
func newRawClient(c *cluster.Cluster) (kubernetes.Interface, error) {
	cfg, err := c.RESTConfig(false)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = -1, 0
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.UserAgent = rawAgent
	return kubernetes.NewForConfig(cfg)
}

// freeLoopback is a free loopback address.
func freeLoopback() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// buildProfiling builds the plugin with the profile tag (pprof on
// SHIPJOB_PPROF_ADDR); it runs in the module's root.
func buildProfiling(out string) error {
	if _, err := os.Stat("cmd/kubectl-shipjob/profile.go"); err != nil {
		return errors.New("run from the module's root: " + err.Error())
	}
	cmd := exec.Command("go", "build", "-tags", "profile", "-trimpath", "-o", out, "./cmd/kubectl-shipjob")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build the profiling binary: %w", err)
	}
	return nil
}
