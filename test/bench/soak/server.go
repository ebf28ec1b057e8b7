package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shipjob/kubectl-shipjob/test/bench/benchkit"
)

// server is the one `hooks serve` under test, a real process.
type server struct {
	cmd     *exec.Cmd
	url     string // http://addr
	logPath string
	leading chan struct{} // closed when it processes run ends

	mu     sync.Mutex
	levels map[string]int // log lines by level
	msgs   map[string]int // warn and error lines by message
	done   chan struct{}
}

// startServer starts `hooks serve` over the namespaces (or all of them),
// sending notifications to loopback over plain http, and waits until it
// listens. Its log goes to logPath.
func startServer(env []string, plugin string, namespaces []string, all bool, logPath string) (*server, error) {
	args := []string{plugin, "hooks", "serve", "--listen", "127.0.0.1:0",
		"--webhook-allow-cidrs", "127.0.0.0/8", "--webhook-allow-insecure"}
	if all {
		args = append(args, "-A", "--leader-election-namespace", namespaces[0])
	} else {
		args = append(args, "--namespaces", strings.Join(namespaces, ","))
	}
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	s := &server{cmd: benchkit.Command(env, args...), logPath: logPath, leading: make(chan struct{}),
		levels: map[string]int{}, msgs: map[string]int{}, done: make(chan struct{})}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		defer close(s.done)
		defer f.Close()
		s.read(io.TeeReader(stderr, f), addr)
	}()
	select {
	case a := <-addr:
		s.url = "http://" + a
	case <-time.After(5 * time.Minute):
		s.stop()
		return nil, errors.New("hooks serve did not listen within 5 minutes")
	case <-s.done:
		return nil, fmt.Errorf("hooks serve exited: see %s", logPath)
	}
	return s, nil
}

// read follows the server's JSON log lines.
func (s *server) read(r io.Reader, addr chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	once := sync.Once{}
	for sc.Scan() {
		var line struct{ Level, Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		s.mu.Lock()
		s.levels[line.Level]++
		if line.Level == "WARN" || line.Level == "ERROR" {
			s.msgs[line.Msg]++
		}
		s.mu.Unlock()
		switch line.Msg {
		case "listening":
			addr <- line.Addr
		case "processing run ends":
			once.Do(func() { close(s.leading) })
		}
	}
}

// stop sends SIGTERM and waits for the server to exit.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	_ = s.cmd.Wait()
	<-s.done
}

// logCounts are its log lines by level and its warnings by message.
func (s *server) logCounts() (map[string]int, map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, m := map[string]int{}, map[string]int{}
	for k, v := range s.levels {
		l[k] = v
	}
	for k, v := range s.msgs {
		m[k] = v
	}
	return l, m
}

// proc is the server's memory as the kernel has it (KiB).
type proc struct{ rss, hwm int }

func (s *server) proc() (proc, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return proc{}, err
	}
	return proc{rss: procKiB(string(status), "VmRSS:"), hwm: procKiB(string(status), "VmHWM:")}, nil
}

func procKiB(status, key string) int {
	for l := range strings.SplitSeq(status, "\n") {
		if rest, ok := strings.CutPrefix(l, key); ok {
			v, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return v
		}
	}
	return 0
}

// metrics reads the named unlabelled (or summed) series of /metrics.
func (s *server) metrics(names ...string) (map[string]float64, error) {
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
			_, rest, ok = strings.Cut(line, "} ")
		}
		if !ok || !want[name] {
			continue
		}
		if v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64); err == nil {
			out[name] += v
		}
	}
	return out, sc.Err()
}
