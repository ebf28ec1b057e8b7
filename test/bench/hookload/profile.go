package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// profiles are the files of one replica's profiles and their pprof -top
// summaries.
type profiles struct {
	window time.Duration
	files  map[string]string // cpu, block, mutex → path
	tops   []top
}

type top struct{ title, text string }

// startProfiles takes, 2 s into a phase of length phaseLen, a CPU profile
// and block and mutex delta profiles of the same window (at most 15 s)
// from the pprof server at addr; the returned func waits for them and
// summarizes them with go tool pprof -top.
func startProfiles(addr, out string, phaseLen time.Duration) func() (*profiles, error) {
	window := min(15*time.Second, phaseLen-4*time.Second)
	secs := int(window / time.Second)
	p := &profiles{window: window, files: map[string]string{}}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, name := range []string{"cpu", "block", "mutex"} {
		path := "/debug/pprof/" + name
		if name == "cpu" {
			path = "/debug/pprof/profile"
		}
		file := filepath.Join(out, name+".pb.gz")
		p.files[name] = file
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(2 * time.Second)
			errs[i] = fetch(fmt.Sprintf("http://%s%s?seconds=%d", addr, path, secs), file)
		}()
	}
	return func() (*profiles, error) {
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		for _, s := range []struct {
			title, file string
			args        []string
		}{
			{"CPU, top 25 by flat", p.files["cpu"], nil},
			{"CPU, top 25 by cum", p.files["cpu"], []string{"-cum"}},
			{"block (time goroutines waited), top 25 by flat", p.files["block"], nil},
			{"block, top 25 by cum", p.files["block"], []string{"-cum"}},
			// Where a trigger waits: its handler, and the goroutine in which
			// Helm's upgrade creates the Job and records the release.
			{"block under the trigger (its handler and Helm's releasingUpgrade goroutine), top 45 by cum", p.files["block"],
				[]string{"-cum", "-nodecount=45", `-focus=hookserver\.\(\*Server\)\.trigger$|action\.\(\*Upgrade\)\.releasingUpgrade$`}},
			{"mutex (contention, 1 in 10 sampled), top 10 by flat", p.files["mutex"], []string{"-nodecount=10"}},
		} {
			args := append([]string{"tool", "pprof", "-top", "-nodecount=25"}, s.args...)
			text, err := exec.Command("go", append(args, s.file)...).Output()
			if err != nil {
				return nil, fmt.Errorf("go tool pprof %s: %w", s.file, err)
			}
			p.tops = append(p.tops, top{s.title, strings.TrimRight(string(text), "\n")})
		}
		return p, nil
	}
}

// fetch saves the body of url (a 200) to file.
func fetch(url, file string) error {
	c := &http.Client{Timeout: 2 * time.Minute}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s: %s", url, resp.Status, body)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
