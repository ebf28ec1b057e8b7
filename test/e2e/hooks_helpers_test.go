package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// hookServer is a `kubectl-shipjob hooks serve` process on a random
// loopback port.
type hookServer struct {
	URL  string
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan struct{}
	code int
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startHookServer starts the server with args (e.g. -n NS) and waits until
// /readyz answers 200. It is stopped (SIGTERM) when t ends.
func startHookServer(t *testing.T, args ...string) *hookServer {
	t.Helper()
	s := startHookServerNoWait(t, args...)
	eventually(t, 20*time.Second, "hook server ready", func() bool {
		resp, err := http.Get(s.URL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return s
}

func startHookServerNoWait(t *testing.T, args ...string) *hookServer {
	t.Helper()
	s := &hookServer{logs: &lockedBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(cluster.PluginBin, append([]string{"hooks", "serve", "--listen", "127.0.0.1:0", "--log-level", "debug"}, args...)...)
	s.cmd.Stderr = s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = s.cmd.Wait()
		s.code = s.cmd.ProcessState.ExitCode()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("hook server log (last 4 KiB):\n%s", tail(s.logs.String(), 4096))
		}
	})
	eventually(t, 20*time.Second, "hook server listening", func() bool {
		select {
		case <-s.done:
			t.Fatalf("hook server exited (%d):\n%s", s.code, s.logs.String())
		default:
		}
		sc := bufio.NewScanner(strings.NewReader(s.logs.String()))
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				s.URL = "http://" + line.Addr
				return true
			}
		}
		return false
	})
	return s
}

// stop sends SIGTERM and waits for the exit; it returns the exit code.
func (s *hookServer) stop(t *testing.T) int {
	t.Helper()
	select {
	case <-s.done:
		return s.code
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("hook server did not exit within 60s of SIGTERM")
	}
	return s.code
}

// createHook creates a hook with the CLI and returns its id and token.
func createHook(t *testing.T, ns, job, name string) (id, token string) {
	t.Helper()
	out := mustShipjob(t, "hook", "create", job, "--name", name, "-n", ns)
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "hook.shipjob.dev/"); ok {
			id = strings.TrimSuffix(v, " created")
		}
		if v, ok := strings.CutPrefix(line, "token: "); ok {
			token = v
		}
	}
	if id == "" || token == "" {
		t.Fatalf("unexpected hook create output %q", out)
	}
	return id, token
}

var hookClient = &http.Client{Timeout: 3 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 100}}

// hookCall sends one request to the hook API and returns code and body.
func hookCall(method, url, token, ctype, body string) (int, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("X-Deploy-Hook-Token", token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := hookClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), err
}

// triggered is the 201 answer.
type triggered struct {
	Run, Namespace, Job, StatusURL string
}

func decodeTriggered(t *testing.T, body string) triggered {
	t.Helper()
	var tr triggered
	if err := json.Unmarshal([]byte(body), &tr); err != nil || tr.Run == "" {
		t.Fatalf("201 body %q: %v", body, err)
	}
	return tr
}

// runJobs returns the names of the run Jobs of job in ns.
func runJobs(t *testing.T, ns, job string) []string {
	t.Helper()
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	list, err := cs.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{
		LabelSelector: "shipjob.dev/kind=run,shipjob.dev/job=" + job})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, j := range list.Items {
		names = append(names, j.Name)
	}
	sort.Strings(names)
	return names
}

// percentile of sorted durations (p in 0..100), nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}
