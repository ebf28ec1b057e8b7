// Command statusmem measures the hook server's memory under concurrent
// status polls of one finished run of many tasks (review N6): it triggers
// a run of -tasks tasks on the local cluster, then for each plugin binary
// given starts `hooks serve`, sends -polls rounds of -c concurrent GETs of
// the run's status and reports the server's peak RSS (VmHWM), its RSS
// before the polls and the polls' median latency.
//
//	make cluster-up
//	go run ./test/bench/statusmem -state .cache/cluster-state -plugins /tmp/main/kubectl-shipjob,bin/kubectl-shipjob
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

func main() {
	state := flag.String("state", ".cache/cluster-state", "state dir of a cluster started by make cluster-up")
	plugins := flag.String("plugins", "bin/kubectl-shipjob", "comma-separated kubectl-shipjob binaries to measure, in turn")
	tasks := flag.Int("tasks", 1000, "tasks of the run whose status is polled")
	conc := flag.Int("c", 40, "concurrent status polls")
	rounds := flag.Int("polls", 5, "rounds of concurrent polls")
	flag.Parse()
	if err := measure(*state, strings.Split(*plugins, ","), *tasks, *conc, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "statusmem:", err)
		os.Exit(1)
	}
}

func measure(state string, plugins []string, tasks, conc, rounds int) error {
	dir, err := os.ReadFile(filepath.Join(state, "current"))
	if err != nil {
		return fmt.Errorf("no running local cluster (make cluster-up): %w", err)
	}
	c, err := cluster.Load(strings.TrimSpace(string(dir)))
	if err != nil {
		return err
	}
	for i, p := range plugins {
		if plugins[i], err = filepath.Abs(p); err != nil {
			return err
		}
	}
	env := append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	ns := fmt.Sprintf("statusmem-%d", time.Now().Unix())
	sh := func(name string, args ...string) (string, error) {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok {
			return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, ee.Stderr)
		}
		return string(out), err
	}
	n := fmt.Sprint(tasks)
	if _, err := sh("kubectl", "create", "namespace", ns); err != nil {
		return err
	}
	// The newest plugin creates the job and its run (an older one reads it).
	plugin := plugins[len(plugins)-1]
	if _, err := sh(plugin, "create", "wide", "-n", ns, "--image", "example.com/acme/sim:1", "--env", "SIM_DURATION=1s",
		"--tasks", n, "--parallelism", n, "--retention", "1h"); err != nil {
		return err
	}
	start := time.Now()
	out, err := sh(plugin, "run", "wide", "-n", ns, "--wait", "--wait-timeout", "20m")
	if err != nil {
		return err
	}
	run := strings.TrimPrefix(strings.Fields(out)[0], "run.shipjob.dev/")
	fmt.Printf("run %s of %d tasks finished in %s\n", run, tasks, time.Since(start).Round(time.Second))
	out, err = sh(plugin, "hook", "create", "wide", "--name", "bench", "-n", ns)
	if err != nil {
		return err
	}
	var token string
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "token: "); ok {
			token = v
		}
	}
	for _, p := range plugins {
		if err := serveAndPoll(env, p, ns, run, token, conc, rounds); err != nil {
			return err
		}
	}
	return nil
}

func serveAndPoll(env []string, plugin, ns, run, token string, conc, rounds int) error {
	cmd := exec.Command(plugin, "hooks", "serve", "-n", ns, "--listen", "127.0.0.1:0", "--rate-limit", "0")
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(time.Minute):
		return fmt.Errorf("%s: hook server did not start", plugin)
	}
	url := base + "/api/v1/dh/runs/" + run
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if code, _, _ := get(url, token); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: no status of run %s within a minute", plugin, run)
		}
	}
	idle := vm(cmd.Process.Pid, "VmRSS")
	var mu sync.Mutex
	var lat []time.Duration
	var failed int
	var body string
	for range rounds {
		var wg sync.WaitGroup
		for range conc {
			wg.Go(func() {
				t0 := time.Now()
				code, b, err := get(url, token)
				mu.Lock()
				defer mu.Unlock()
				lat = append(lat, time.Since(t0))
				if err != nil || code != http.StatusOK {
					failed++
				}
				body = b
			})
		}
		wg.Wait()
	}
	slices.Sort(lat)
	fmt.Printf("%s: RSS idle %s, peak (VmHWM) %s; %d polls (%d at once), median %s, p95 %s, %d failed\n  last answer: %s",
		plugin, idle, vm(cmd.Process.Pid, "VmHWM"), len(lat), conc, lat[len(lat)/2].Round(time.Millisecond),
		lat[len(lat)*95/100].Round(time.Millisecond), failed, body)
	return nil
}

func get(url, token string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("X-Deploy-Hook-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// vm is a field of /proc/pid/status ("VmHWM": peak resident set).
func vm(pid int, field string) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
