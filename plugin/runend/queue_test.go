package runend

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestFairQueueIsolatesNamespacesAndJobs: 40 runs of one job in namespace
// a whose tasks never finish (receivers that never answer) take at most
// the job's cap of slots; a second job of a gets slots up to a's cap; a run
// of namespace b still starts at once. Review N5.
func TestFairQueueIsolatesNamespacesAndJobs(t *testing.T) {
	q := newFairQueue(16, 12, 8)
	block := make(chan struct{})
	var mu sync.Mutex
	running := map[string]int{}
	started := make(chan string, 100)
	add := func(ns, job, key string) {
		q.add(task{ns: ns, job: job, key: key, run: func() {
			mu.Lock()
			running[ns+"/"+job]++
			mu.Unlock()
			started <- key
			<-block
		}})
	}
	for i := range 40 {
		add("a", "slow", fmt.Sprintf("a/slow-%d", i))
	}
	for i := range 10 {
		add("a", "other", fmt.Sprintf("a/other-%d", i))
	}
	// Let what can start start.
	for range 12 {
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("namespace a's tasks did not start")
		}
	}
	add("b", "ok", "b/ok-0")
	select {
	case k := <-started:
		if k != "b/ok-0" {
			t.Fatalf("started %s, want b/ok-0 (namespace a over its cap)", k)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("namespace b's run did not start while namespace a's runs hold their slots")
	}
	mu.Lock()
	if running["a/slow"]+running["a/other"] != 12 || running["a/slow"] > 8 || running["b/ok"] != 1 {
		t.Errorf("running %v, want 12 of namespace a (its cap), at most 8 of a job (its cap), b/ok 1", running)
	}
	mu.Unlock()
	if q.add(task{ns: "a", job: "slow", key: "a/slow-0"}) {
		t.Error("a run already running was queued again")
	}
	if !q.busy("a/slow-39") || q.busy("b/ok-1") {
		t.Error("busy: want queued runs busy, unknown ones not")
	}
	close(block)
	done := make(chan struct{})
	go func() { q.stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not return")
	}
}

// TestFairQueueTakesTurns: with one slot, namespaces alternate, and so do
// the jobs of a namespace, whatever order they were queued in.
func TestFairQueueTakesTurns(t *testing.T) {
	q := newFairQueue(1, 1, 1)
	var mu sync.Mutex
	var order []string
	gate := make(chan struct{})
	q.add(task{ns: "z", job: "first", key: "z/first", run: func() { <-gate }})
	for _, k := range []string{"a/x1", "a/x2", "a/x3", "a/y1", "b/z1"} {
		q.add(task{ns: k[:1], job: k[2:3], key: k, run: func() {
			mu.Lock()
			order = append(order, k)
			mu.Unlock()
		}})
	}
	close(gate)
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(order)
		mu.Unlock()
		if n == 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	q.stop()
	if got := fmt.Sprint(order); got != "[a/x1 b/z1 a/y1 a/x2 a/x3]" {
		t.Errorf("order %s, want [a/x1 b/z1 a/y1 a/x2 a/x3]", got)
	}
}
