//go:build chaos

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// sseEvent is one event of the UI's live stream.
type sseEvent struct {
	at         time.Time
	name, data string
}

// uiEvents logs in to ui with its one-time link and reads the live
// event stream of ns until t ends; ended is closed if the stream ends.
func uiEvents(t *testing.T, ui *uiServer, ns string) (get func() []sseEvent, ended <-chan struct{}) {
	t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login, _ := url.Parse(ui.Login)
	resp, err := noRedirect.Get(ui.Base + "/?" + login.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(resp.Cookies()) != 1 {
		t.Fatalf("login: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ui.Base+"/namespaces/"+ns+"/events", nil)
	req.AddCookie(resp.Cookies()[0])
	stream, err := http.DefaultClient.Do(req)
	if err != nil || stream.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("event stream: %v %v", err, stream)
	}
	var mu sync.Mutex
	var evs []sseEvent
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer stream.Body.Close()
		sc := bufio.NewScanner(stream.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data += strings.TrimPrefix(line, "data: ")
			case line == "" && ev.name != "":
				ev.at = time.Now()
				mu.Lock()
				evs = append(evs, ev)
				mu.Unlock()
				ev = sseEvent{}
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return func() []sseEvent {
		mu.Lock()
		defer mu.Unlock()
		return append([]sseEvent(nil), evs...)
	}, done
}

// TestChaosWatchExpiry: kube-apiserver restarted with no watch cache
// (--watch-cache=false: watches are served by etcd), compaction every
// second (--etcd-compaction-interval=1s) and watches closed after 1-2 s
// (--min-request-timeout=1; clients that set no timeout of their own): a
// watch resumed from a resourceVersion older than a second or two gets
// 410 Gone, as a client gets in production after a long disconnection.
// The run-end processor (informers) marks and notifies every run once;
// the UI's live event stream stays open and, after every run's last
// change, sends an event naming it or a start over (empty list: the page
// refreshes all).
func TestChaosWatchExpiry(t *testing.T) {
	ns := cluster.Namespace(t, false)
	rc := newReceiver(t, nil)
	createNotifyJob(t, ns, "w", "--notify", rc.url("/w"), "--param", "SIM_DURATION=1s")
	replicas := map[string]*hookServer{"replica-a": startNotifier(t, ns, "replica-a", allowLocal...)}
	t.Cleanup(func() { keepServerLogs(t, replicas) })
	waitLeader(t, ns, replicas)
	ui := startUI(t, "-n", ns)
	events, ended := uiEvents(t, ui, ns)

	orig := cluster.Shared.Args(cluster.APIServerBin)
	restart := func(args []string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := cluster.Shared.Kill(cluster.APIServerBin); err != nil {
			t.Fatal(err)
		}
		if err := cluster.Shared.RestartWith(ctx, cluster.APIServerBin, args); err != nil {
			t.Fatalf("restart kube-apiserver: %v", err)
		}
	}
	restart(append(append([]string(nil), orig...), "--watch-cache=false", "--etcd-compaction-interval=1s", "--min-request-timeout=1"))
	t.Cleanup(func() { restart(orig) })

	// The configuration expires watches: one from a resourceVersion read
	// 4 s ago gets 410.
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	list, err := cs.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second) // on purpose: compaction passes the resourceVersion
	expired := false
	if w, err := cs.CoreV1().ConfigMaps(ns).Watch(context.Background(), metav1.ListOptions{ResourceVersion: list.ResourceVersion}); err != nil {
		expired = apierrors.IsGone(err) || apierrors.IsResourceExpired(err)
	} else {
		select {
		case ev := <-w.ResultChan():
			expired = ev.Type == watch.Error && (apierrors.IsGone(apierrors.FromObject(ev.Object)) || apierrors.IsResourceExpired(apierrors.FromObject(ev.Object)))
		case <-time.After(5 * time.Second):
		}
		w.Stop()
	}
	if !expired {
		t.Fatal("a watch from a resourceVersion 4 s old did not get 410: the configuration does not expire watches")
	}

	var runs []string
	for i := range 12 {
		runs = append(runs, trigger(t, ns, "w", "--param", fmt.Sprintf("SIM_DURATION=%ds", 1+i%4)))
		time.Sleep(1500 * time.Millisecond) // on purpose: runs start and end over time, with quiet gaps
	}
	states := waitAllEnded(t, ns, "w", runs, 3*time.Minute)
	time.Sleep(3 * time.Second) // on purpose: a late event or a second notification has time to show
	byRun, byID := countDeliveries(rc)
	for _, r := range runs {
		if byRun[r] != 1 {
			t.Errorf("run %s notified %d times, want once", r, byRun[r])
		}
		if s := states[r]; len(s) != 1 || s[0].State != "delivered" {
			t.Errorf("run %s: states %+v, want one delivered", r, s)
		}
	}
	for id, n := range byID {
		if n != 1 {
			t.Errorf("delivery id %q sent %d times", id, n)
		}
	}

	select {
	case <-ended:
		t.Error("the UI's event stream ended")
	default:
	}
	evs := events()
	startOvers, problems := 0, 0
	for _, ev := range evs {
		switch {
		case ev.name == "problem":
			problems++
			t.Errorf("UI event stream: problem %q", ev.data)
		case ev.name == "runs" && ev.data == "[]":
			startOvers++
		}
	}
	for _, r := range runs {
		last := lastChange(t, ns, r)
		seen := false
		for _, ev := range evs {
			if ev.name == "runs" && !ev.at.Truncate(time.Second).Before(last) && (ev.data == "[]" || strings.Contains(ev.data, `"`+r+`"`)) {
				seen = true
			}
		}
		if !seen {
			t.Errorf("run %s last changed at %s; no UI event at or after it names it or starts over", r, last.Format(time.TimeOnly))
		}
	}
	if startOvers == 0 {
		t.Error("the UI's watch never expired: the test did not exercise the start over")
	}
	t.Logf("FAULT watch expiry (no watch cache, compaction every 1 s, watches closed after 1-2 s): %d runs, %d notifications; "+
		"UI stream: %d events, %d start overs after 410, %d problems",
		len(runs), rc.count(""), len(evs), startOvers, problems)
}

// lastChange is the latest time a run's Job says it changed: its
// conditions and the run-end processor's shipjob.dev/ended (second
// granularity).
func lastChange(t *testing.T, ns, run string) time.Time {
	t.Helper()
	j := getJob(t, ns, run)
	last := j.CreationTimestamp.Time
	for _, c := range j.Status.Conditions {
		if c.LastTransitionTime.After(last) {
			last = c.LastTransitionTime.Time
		}
	}
	if v, err := time.Parse(time.RFC3339, j.Annotations["shipjob.dev/ended"]); err == nil && v.After(last) {
		last = v
	}
	return last
}
