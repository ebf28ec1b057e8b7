package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// driver ends runs at a fixed rate, spread over the namespaces in turn.
type driver struct {
	cs     kubernetes.Interface
	spaces []space
	rate   float64
	runFor time.Duration
	failed float64

	mu        sync.Mutex
	ended     map[string]end // namespace/run → its end
	createErr int
	endErr    int
	deleted   int // runs deleted once notified
	deletes   chan string
	lastErr   error
	wg        sync.WaitGroup
}

// end is one driven run's end: sent is when its final status was sent to
// the API server (latencies count from it: an upper bound), done when the
// write returned.
type end struct {
	sent, done time.Time
	outcome    string
}

func newDriver(cs kubernetes.Interface, spaces []space, o options) *driver {
	return &driver{cs: cs, spaces: spaces, rate: o.rate, runFor: o.runFor, failed: o.failed, ended: map[string]end{},
		deletes: make(chan string, 10000)}
}

// drive starts a run every 1/rate seconds until ctx ends; each ends runFor
// after it was created. It returns when every started run has ended (or
// failed to).
func (d *driver) drive(ctx context.Context) {
	start := time.Now()
	for i := 0; ; i++ {
		at := start.Add(time.Duration(float64(i) / d.rate * float64(time.Second)))
		select {
		case <-ctx.Done():
			d.wg.Wait()
			return
		case <-time.After(time.Until(at)):
		}
		d.wg.Go(func() { d.one(i) })
	}
}

// one creates run i as a trigger leaves it, lets it be active for runFor,
// then writes its final status.
func (d *driver) one(i int) {
	ctx := context.Background()
	sp := d.spaces[i%len(d.spaces)]
	name := fmt.Sprintf("%s-d%09d", jobName, i)
	created := time.Now()
	j, err := d.cs.BatchV1().Jobs(sp.ns).Create(ctx, runJob(sp, name, created), metav1.CreateOptions{})
	if err != nil {
		d.fail(&d.createErr, err)
		return
	}
	time.Sleep(time.Until(created.Add(d.runFor)))
	failed := float64(i%1000) < d.failed*1000
	outcome := "succeeded"
	if failed {
		outcome = "failed"
	}
	sent := time.Now()
	if err := finish(ctx, d.cs, j, created, sent, failed); err != nil {
		d.fail(&d.endErr, err)
		return
	}
	d.mu.Lock()
	d.ended[sp.ns+"/"+name] = end{sent: sent, done: time.Now(), outcome: outcome}
	d.mu.Unlock()
}

// deleteLater deletes run key (namespace/run) after a while, unless the
// queue of deletes is full (then its TTL removes it): a notified run has
// nothing left to do, and the cluster keeps about the pre-filled runs
// whether or not the TTL controller keeps up.
func (d *driver) deleteLater(key string) {
	time.AfterFunc(5*time.Second, func() {
		select {
		case d.deletes <- key:
		default:
		}
	})
}

// deleter deletes the runs deleteLater queues until ctx ends.
func (d *driver) deleter(ctx context.Context) {
	bg := metav1.DeletePropagationBackground
	for {
		select {
		case <-ctx.Done():
			return
		case key := <-d.deletes:
			ns, name, _ := strings.Cut(key, "/")
			err := d.cs.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg})
			d.mu.Lock()
			if err == nil {
				d.deleted++
			}
			d.mu.Unlock()
		}
	}
}

func (d *driver) fail(count *int, err error) {
	d.mu.Lock()
	*count++
	d.lastErr = err
	d.mu.Unlock()
}

// snapshot copies the ends so far and the error counts.
func (d *driver) snapshot() (map[string]end, int, int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]end, len(d.ended))
	for k, v := range d.ended {
		out[k] = v
	}
	return out, d.createErr, d.endErr, d.lastErr
}
