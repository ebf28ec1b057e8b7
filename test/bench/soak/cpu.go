package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuWatch tells where the machine's cores go between samples: the CPU
// time of the cluster's daemons, the server and this tool (utime + stime
// from /proc/PID/stat), and of the whole machine (/proc/stat).
type cpuWatch struct {
	names []string
	pids  map[string]int
	last  map[string]float64 // CPU seconds at the last sample
	at    time.Time
}

// clockTicks is USER_HZ, 100 on Linux.
const clockTicks = 100

// newCPUWatch watches the daemons of the cluster whose state is in dir
// (cluster.json), pid as "hooks serve" and this process as "soak".
func newCPUWatch(dir string, pid int) *cpuWatch {
	w := &cpuWatch{pids: map[string]int{}, last: map[string]float64{}}
	var st struct {
		Processes []struct {
			Name string `json:"name"`
			PID  int    `json:"pid"`
		} `json:"processes"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "cluster.json")); err == nil && json.Unmarshal(b, &st) == nil {
		for _, p := range st.Processes {
			w.names = append(w.names, p.Name)
			w.pids[p.Name] = p.PID
		}
	}
	w.names = append(w.names, "hooks serve", "soak")
	w.pids["hooks serve"], w.pids["soak"] = pid, os.Getpid()
	w.sample()
	return w
}

// sample returns the cores each used since the last sample ("machine":
// every process, out of all cores).
func (w *cpuWatch) sample() map[string]float64 {
	now := time.Now()
	dt := now.Sub(w.at).Seconds()
	out := map[string]float64{}
	cur := map[string]float64{"machine": machineCPU()}
	for _, n := range w.names {
		cur[n] = procCPU(w.pids[n])
	}
	for n, v := range cur {
		if prev, ok := w.last[n]; ok && dt > 0 && v >= 0 && prev >= 0 {
			out[n] = (v - prev) / dt
		}
	}
	w.last, w.at = cur, now
	return out
}

// text is "name 0.42 cores, …" in the watch's order.
func (w *cpuWatch) text(used map[string]float64) string {
	var parts []string
	for _, n := range append([]string{"machine"}, w.names...) {
		if v, ok := used[n]; ok {
			parts = append(parts, fmt.Sprintf("%s %.2f", n, v))
		}
	}
	return strings.Join(parts, ", ")
}

// procCPU is pid's user + system CPU time in seconds (-1: gone).
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// Fields after the command (which may hold spaces) in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b)[i+1:])
	if len(f) < 13 {
		return -1
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / clockTicks
}

// machineCPU is the busy CPU time of every core in seconds.
func machineCPU() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	busy := 0.0
	for i, v := range f[1:] {
		n, _ := strconv.ParseFloat(v, 64)
		if i != 3 && i != 4 && i < 8 { // not idle, iowait, or guest (counted in user)
			busy += n
		}
	}
	return busy / clockTicks
}
