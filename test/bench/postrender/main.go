// Command postrender measures `kubectl-shipjob postrender` side by side with
// `kubectl kustomize` used as a Helm post-renderer (a JSON6902 patch on every
// Job adding the keep annotation, the TTL annotation and
// ttlSecondsAfterFinished), in one run, on the same generated Helm output:
// half Jobs, half ConfigMaps with block scalars and comments.
//
// Both are timed as whole processes, the way Helm runs them: wall time of
// the process, its CPU time (user + sys, which a busy machine inflates less
// than the wall time) and peak RSS, from /usr/bin/time -f "%M %U %S". Each output is checked:
// every Job patched, every ConfigMap there. The table and the checks of the
// targets are printed as Markdown.
//
//	go run ./test/bench/postrender -plugin bin/kubectl-shipjob
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/shipjob/kubectl-shipjob/postrender/postrendertest"
)

type config struct {
	plugin, kubectl string
	sizes           []int // both tools
	large           []int // kubectl-shipjob only
	runs            int
	budget          time.Duration // per tool and size: stop repeating after this much
}

func main() {
	var c config
	var sizes, large string
	flag.StringVar(&c.plugin, "plugin", "bin/kubectl-shipjob", "kubectl-shipjob binary under test")
	flag.StringVar(&c.kubectl, "kubectl", "kubectl", "kubectl binary whose kustomize is the peer")
	flag.StringVar(&sizes, "sizes", "500,5000", "resource counts run through both")
	flag.StringVar(&large, "large", "45000", "resource counts run through kubectl-shipjob only (kustomize is quadratic)")
	flag.IntVar(&c.runs, "runs", 5, "measured runs per tool and size (median reported)")
	flag.DurationVar(&c.budget, "budget", 10*time.Second, "stop repeating a tool at a size after this much time (at least one run)")
	flag.Parse()
	var err error
	if c.sizes, err = parseInts(sizes); err == nil {
		c.large, err = parseInts(large)
	}
	if err == nil {
		err = run(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "postrender bench:", err)
		os.Exit(1)
	}
}

const (
	ttlSeconds = 1209600 // 336h, the post-renderer's default
	ttlText    = "336h0m0s"
)

// kustomization patches every batch/v1 Job like the post-renderer does.
// The generated Jobs already have annotations, so "add" of single keys works.
const kustomization = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - all.yaml
patches:
  - target:
      group: batch
      version: v1
      kind: Job
    patch: |-
      - op: add
        path: /metadata/annotations/helm.sh~1resource-policy
        value: keep
      - op: add
        path: /metadata/annotations/shipjob.dev~1ttl
        value: "336h0m0s"
      - op: add
        path: /spec/ttlSecondsAfterFinished
        value: 1209600
`

// kustomizeScript is kustomize as a Helm post-renderer: stdin into a
// folder with the kustomization, the kustomized result on stdout.
const kustomizeScript = `#!/bin/sh
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/all.yaml"
cp "$(dirname "$0")/kustomization.yaml" "$dir/kustomization.yaml"
"$KUBECTL" kustomize "$dir"
`

type tool struct {
	name string
	argv []string
}

// measurement is one tool at one size.
type measurement struct {
	walls []time.Duration
	cpus  []time.Duration
	rssKB []int
}

func (m *measurement) wall() time.Duration { return median(m.walls) }
func (m *measurement) cpu() time.Duration  { return median(m.cpus) }
func (m *measurement) rss() int            { return slices.Max(m.rssKB) }

func run(c config) error {
	plugin, err := filepath.Abs(c.plugin)
	if err != nil {
		return err
	}
	kubectl, err := exec.LookPath(c.kubectl)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "postrender-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "kustomize-postrender.sh")
	if err := os.WriteFile(script, []byte(kustomizeScript), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
		return err
	}
	os.Setenv("KUBECTL", kubectl)
	ours := tool{"kubectl-shipjob postrender", []string{plugin, "postrender", "--ttl=336h"}}
	peer := tool{"kubectl kustomize", []string{script}}

	// Startup alone: the floor under every measurement of ours.
	empty := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		return err
	}
	idle := &measurement{}
	idleTool := tool{"idle", []string{plugin, "postrender", "--allow-empty"}}
	for range c.runs + 1 { // the first run warms the page cache
		if err := measure(idle, idleTool, empty, filepath.Join(dir, "out")); err != nil {
			return err
		}
	}
	idle.walls, idle.cpus, idle.rssKB = idle.walls[1:], idle.cpus[1:], idle.rssKB[1:]
	loadBefore := loadAvg()

	type row struct {
		n, bytes   int
		ours, peer *measurement
	}
	var rows []row
	all := append(slices.Clone(c.sizes), c.large...)
	for i, n := range all {
		withPeer := i < len(c.sizes)
		in := filepath.Join(dir, fmt.Sprintf("in-%d.yaml", n))
		data := generate(n)
		if err := os.WriteFile(in, data, 0o644); err != nil {
			return err
		}
		r := row{n: n, bytes: len(data), ours: &measurement{}}
		tools := []tool{ours}
		ms := []*measurement{r.ours}
		if withPeer {
			r.peer = &measurement{}
			tools, ms = append(tools, peer), append(ms, r.peer)
		}
		fmt.Fprintf(os.Stderr, "%d resources (%s):", n, mb(len(data)))
		spent := make([]time.Duration, len(tools))
		for k := 0; k < c.runs; k++ {
			for j, t := range tools { // alternating, side by side
				if k > 0 && spent[j] > c.budget {
					continue
				}
				out := filepath.Join(dir, fmt.Sprintf("out-%d-%d", n, j))
				if err := measure(ms[j], t, in, out); err != nil {
					return err
				}
				spent[j] += ms[j].walls[len(ms[j].walls)-1]
				if k == 0 {
					if err := verify(out, n); err != nil {
						return fmt.Errorf("%s, %d resources: %w", t.name, n, err)
					}
				}
				fmt.Fprintf(os.Stderr, " %s %.3fs", strings.Fields(t.name)[1], ms[j].walls[len(ms[j].walls)-1].Seconds())
			}
		}
		fmt.Fprintln(os.Stderr)
		rows = append(rows, r)
	}

	fmt.Printf("Load average (1 min) %s before, %s after; %d CPUs.\n", loadBefore, loadAvg(), runtime.NumCPU())
	fmt.Printf("Startup of kubectl-shipjob postrender (empty input, --allow-empty): %s wall, %s CPU, %s peak RSS (median of %d).\n\n",
		secs(idle.wall()), secs(idle.cpu()), kb(idle.rss()), len(idle.walls))
	fmt.Println("| resources | input | kubectl-shipjob postrender: wall | CPU | peak RSS | kubectl kustomize: wall | CPU | peak RSS | speed-up (wall) |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		peer, speed := "– | – | –", "–"
		if r.peer != nil {
			peer = fmt.Sprintf("%s (%s) | %s | %s", secs(r.peer.wall()), runs(r.peer), secs(r.peer.cpu()), kb(r.peer.rss()))
			speed = fmt.Sprintf("%.0f×", r.peer.wall().Seconds()/r.ours.wall().Seconds())
		}
		fmt.Printf("| %d | %s | %s (%s) | %s | %s | %s | %s |\n", r.n, mb(r.bytes),
			secs(r.ours.wall()), runs(r.ours), secs(r.ours.cpu()), kb(r.ours.rss()), peer, speed)
	}
	fmt.Println()

	// Targets.
	var checks []string
	check := func(ok bool, format string, args ...any) {
		mark := "PASS"
		if !ok {
			mark = "FAIL"
		}
		checks = append(checks, fmt.Sprintf("- %s: %s", mark, fmt.Sprintf(format, args...)))
	}
	for i := 1; i < len(rows); i++ {
		a, b := rows[i-1], rows[i]
		grow := float64(b.bytes) / float64(a.bytes)
		tg := b.ours.wall().Seconds() / a.ours.wall().Seconds()
		check(tg <= 1.1*grow, "linear time: %.1f× the input (%d → %d resources) takes %.1f× the time (allowed %.1f×)", grow, a.n, b.n, tg, 1.1*grow)
	}
	for _, r := range rows {
		switch {
		case r.n == 5000:
			check(r.ours.wall() <= 500*time.Millisecond, "5,000 resources in %s for the whole process (target ≤ 0.5 s)", secs(r.ours.wall()))
		case r.bytes >= 9<<20:
			check(r.ours.wall() <= 3*time.Second, "%d resources (%s) in %s (target ≤ 3 s)", r.n, mb(r.bytes), secs(r.ours.wall()))
		}
		if r.n == 500 && r.peer != nil {
			s := r.peer.wall().Seconds() / r.ours.wall().Seconds()
			check(s >= 10, "%.0f× kustomize's speed at 500 resources (target ≥ 10×)", s)
		}
	}
	// Memory against the input is meaningful for large input only: the
	// process alone (its mapped binary) is ~75 MiB.
	if last := rows[len(rows)-1]; last.bytes >= 9<<20 {
		total := float64(last.ours.rss()) * 1024 / float64(last.bytes)
		above := float64(last.ours.rss()-idle.rss()) * 1024 / float64(last.bytes)
		check(above <= 10, "peak memory at %s input: %s RSS = %.1f× the input; above the idle process (%s, mostly the mapped binary) %.1f× (target ≤ 10×)",
			mb(last.bytes), kb(last.ours.rss()), total, kb(idle.rss()), above)
	}
	fmt.Println(strings.Join(checks, "\n"))
	return nil
}

// measure runs t with stdin from in and stdout to out under /usr/bin/time.
func measure(m *measurement, t tool, in, out string) error {
	stdin, err := os.Open(in)
	if err != nil {
		return err
	}
	defer stdin.Close()
	stdout, err := os.Create(out)
	if err != nil {
		return err
	}
	defer stdout.Close()
	rssFile := out + ".rss"
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M %U %S", "-o", rssFile}, t.argv...)...)
	var errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, &errOut
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return fmt.Errorf("%s: %w: %s", t.name, err, strings.TrimSpace(errOut.String()))
	}
	data, err := os.ReadFile(rssFile)
	if err != nil {
		return err
	}
	// The last line; a failing command would add one before it.
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return fmt.Errorf("/usr/bin/time output %q", data)
	}
	f = f[len(f)-3:]
	rss, err := strconv.Atoi(f[0])
	if err != nil {
		return fmt.Errorf("/usr/bin/time output %q: %w", data, err)
	}
	var cpu time.Duration
	for _, v := range f[1:] {
		sec, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("/usr/bin/time output %q: %w", data, err)
		}
		cpu += time.Duration(sec * float64(time.Second))
	}
	m.walls, m.cpus, m.rssKB = append(m.walls, wall), append(m.cpus, cpu), append(m.rssKB, rss)
	return nil
}

// loadAvg is the 1-minute load average, for the record.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(data))[0]
}

func runs(m *measurement) string {
	if len(m.walls) == 1 {
		return "1 run"
	}
	return fmt.Sprintf("median of %d", len(m.walls))
}

// verify checks that out holds n resources, every Job with keep and the TTL.
func verify(out string, n int) error {
	data, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	var jobs, patched, configMaps int
	for _, doc := range splitDocs(data) {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
			Spec struct {
				TTL *int `json:"ttlSecondsAfterFinished"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return fmt.Errorf("output is not YAML: %w", err)
		}
		switch obj.Kind {
		case "Job":
			jobs++
			a := obj.Metadata.Annotations
			if a["helm.sh/resource-policy"] == "keep" && a["shipjob.dev/ttl"] == ttlText && obj.Spec.TTL != nil && *obj.Spec.TTL == ttlSeconds {
				patched++
			}
		case "ConfigMap":
			configMaps++
		}
	}
	if jobs != (n+1)/2 || patched != jobs || configMaps != n/2 {
		return fmt.Errorf("output has %d Jobs (%d patched) and %d ConfigMaps, want %d patched Jobs and %d ConfigMaps", jobs, patched, configMaps, (n+1)/2, n/2)
	}
	return nil
}

// splitDocs splits a stream at "---" lines.
func splitDocs(data []byte) [][]byte {
	var docs [][]byte
	start := 0
	for i := 0; i <= len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		if end < 0 {
			end = len(data) - i
		}
		line := data[i : i+end]
		if bytes.Equal(bytes.TrimRight(line, " \r"), []byte("---")) {
			docs = append(docs, data[start:i])
			start = i + end + 1
		}
		i += end + 1
	}
	if start < len(data) {
		docs = append(docs, data[start:])
	}
	return docs
}

// generate is the Go benchmark's input too: half Jobs, half ConfigMaps.
func generate(n int) []byte { return postrendertest.HelmV3Output(n) }

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("invalid resource count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func secs(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func kb(n int) string { return fmt.Sprintf("%.0f MiB", float64(n)/1024) }

func mb(n int) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.0f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
