package runend

import (
	"sync"
)

// fairQueue runs the deliveries of runs (one task per run) with a fixed
// number of slots shared fairly: namespaces take turns (round-robin), and
// so do the jobs of a namespace; a namespace may hold at most nsCap slots
// and a job at most jobCap, so a flood of runs whose receivers never answer
// (one job, or one namespace) always leaves slots to the others. A run is
// queued at most once: adding a run that is queued or running does nothing
// (its task, when done, decides what comes next for it).
type fairQueue struct {
	slots, nsCap, jobCap int

	mu       sync.Mutex
	running  int
	stopped  bool
	ring     []string // namespaces with queued tasks, in turn order
	next     int      // index in ring of the namespace whose turn it is
	byNS     map[string]*nsQueue
	inNS     map[string]int    // running tasks per namespace
	inJob    map[[2]string]int // running tasks per namespace/job
	known    map[string]bool   // runs queued or running
	wg       sync.WaitGroup
	started  func() // test hook: called when a task starts (under no lock)
	finished func()
}

// nsQueue is a namespace's queued tasks, by job, jobs in turn order.
type nsQueue struct {
	ring  []string
	next  int
	byJob map[string][]task
}

// task is the delivery work of one run.
type task struct {
	ns, job, key string
	run          func()
}

func newFairQueue(slots, nsCap, jobCap int) *fairQueue {
	slots = max(slots, 1)
	return &fairQueue{slots: slots, nsCap: min(max(nsCap, 1), slots), jobCap: min(max(jobCap, 1), slots),
		byNS: map[string]*nsQueue{}, inNS: map[string]int{}, inJob: map[[2]string]int{}, known: map[string]bool{}}
}

// busy reports whether run key is queued or running.
func (q *fairQueue) busy(key string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.known[key]
}

// add queues t unless its run is queued or running already (or the queue
// is stopped); it reports whether it did.
func (q *fairQueue) add(t task) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped || q.known[t.key] {
		return false
	}
	q.known[t.key] = true
	n := q.byNS[t.ns]
	if n == nil {
		n = &nsQueue{byJob: map[string][]task{}}
		q.byNS[t.ns] = n
		q.ring = append(q.ring, t.ns)
	}
	if len(n.byJob[t.job]) == 0 {
		n.ring = append(n.ring, t.job)
	}
	n.byJob[t.job] = append(n.byJob[t.job], t)
	q.dispatch()
	return true
}

// dispatch starts queued tasks while a slot is free and some namespace and
// job under their caps has one. Called with mu held.
func (q *fairQueue) dispatch() {
	for q.running < q.slots && !q.stopped {
		t, ok := q.pick()
		if !ok {
			return
		}
		q.running++
		q.inNS[t.ns]++
		q.inJob[[2]string{t.ns, t.job}]++
		q.wg.Add(1)
		go q.exec(t)
	}
}

// pick takes the next task in turn: the first namespace from q.next under
// its cap with a job under its cap, that job's oldest task.
func (q *fairQueue) pick() (task, bool) {
	for i := range len(q.ring) {
		idx := (q.next + i) % len(q.ring)
		ns := q.ring[idx]
		if q.inNS[ns] >= q.nsCap {
			continue
		}
		n := q.byNS[ns]
		for j := range len(n.ring) {
			jdx := (n.next + j) % len(n.ring)
			job := n.ring[jdx]
			if q.inJob[[2]string{ns, job}] >= q.jobCap {
				continue
			}
			t := n.byJob[job][0]
			n.byJob[job] = n.byJob[job][1:]
			n.next = jdx + 1
			if len(n.byJob[job]) == 0 {
				delete(n.byJob, job)
				n.ring = append(n.ring[:jdx], n.ring[jdx+1:]...)
				n.next = jdx
			}
			if len(n.ring) > 0 {
				n.next %= len(n.ring)
			} else {
				n.next = 0
			}
			q.next = idx + 1
			if len(n.ring) == 0 {
				delete(q.byNS, ns)
				q.ring = append(q.ring[:idx], q.ring[idx+1:]...)
				q.next = idx
			}
			if len(q.ring) > 0 {
				q.next %= len(q.ring)
			} else {
				q.next = 0
			}
			return t, true
		}
	}
	return task{}, false
}

func (q *fairQueue) exec(t task) {
	defer q.wg.Done()
	if q.started != nil {
		q.started()
	}
	t.run()
	q.mu.Lock()
	q.running--
	q.inNS[t.ns]--
	if q.inNS[t.ns] == 0 {
		delete(q.inNS, t.ns)
	}
	k := [2]string{t.ns, t.job}
	q.inJob[k]--
	if q.inJob[k] == 0 {
		delete(q.inJob, k)
	}
	delete(q.known, t.key)
	q.dispatch()
	q.mu.Unlock()
	if q.finished != nil {
		q.finished()
	}
}

// stop drops the queued tasks (the next leader does them) and waits for
// the running ones.
func (q *fairQueue) stop() {
	q.mu.Lock()
	q.stopped = true
	for _, n := range q.byNS {
		for _, ts := range n.byJob {
			for _, t := range ts {
				delete(q.known, t.key)
			}
		}
	}
	q.byNS, q.ring, q.next = map[string]*nsQueue{}, nil, 0
	q.mu.Unlock()
	q.wg.Wait()
}
