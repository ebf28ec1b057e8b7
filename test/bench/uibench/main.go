// Command uibench measures `kubectl shipjob ui` on the local cluster (issue
// 14, Performance): the server time of the Jobs page of a namespace with
// 1,000 job definitions and 3,000 runs, with the API requests of each page
// counted from the API server's audit log, and the latency from a run's
// change on the API server to the SSE event reaching a client of
// /namespaces/NS/events (and to the fresh page the browser then fetches).
//
//	make cluster-up && make build
//	go run ./test/bench/uibench -state .cache/cluster-state -plugin bin/kubectl-shipjob
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/test/bench/benchkit"
	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

func main() {
	state := flag.String("state", ".cache/cluster-state", "state dir of a cluster started by make cluster-up")
	plugin := flag.String("plugin", "bin/kubectl-shipjob", "kubectl-shipjob binary under test")
	jobs := flag.Int("jobs", 1000, "job definitions in the namespace")
	runsPer := flag.Int("runs", 3, "runs of each job (every 10th job's newest one failed)")
	n := flag.Int("n", 15, "measured GETs of the Jobs page")
	changes := flag.Int("changes", 10, "measured run changes (each: a Job created, then its status updated)")
	ns := flag.String("namespace", "", "reuse this namespace (already filled) instead of creating one")
	flag.Parse()
	if err := run(*state, *plugin, *ns, *jobs, *runsPer, *n, *changes); err != nil {
		fmt.Fprintln(os.Stderr, "uibench:", err)
		os.Exit(1)
	}
}

func run(state, plugin, ns string, jobs, runsPer, n, changes int) error {
	c, plugin, err := benchkit.Running(state, plugin)
	if err != nil {
		return err
	}
	cs, err := c.Client()
	if err != nil {
		return err
	}
	ctx := context.Background()
	if ns == "" {
		ns = fmt.Sprintf("ui-%d", time.Now().Unix())
		if err := c.CreateNamespace(ctx, ns); err != nil {
			return err
		}
		start := time.Now()
		if err := fill(ctx, cs, ns, jobs, runsPer); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "namespace %s: %d jobs and %d runs created in %s\n", ns, jobs, jobs*runsPer, time.Since(start).Round(time.Second))
	}

	if err := lists(c, ns, n); err != nil {
		return err
	}

	// The UI, as a user starts it.
	uictx, stop := context.WithCancel(ctx)
	defer stop()
	cmd := exec.CommandContext(uictx, plugin, "ui", "--no-browser", "-n", ns)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { stop(); _ = cmd.Wait() }()
	login, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read the UI's URL: %w", err)
	}
	login = strings.TrimSpace(login)
	base := login[:strings.Index(login, "/?token=")]
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	if _, err := get(client, login); err != nil { // token → cookie → Jobs page
		return err
	}
	page := base + "/namespaces/" + ns + "/jobs"

	// The Jobs page, n times (after one warm-up above).
	var walls []time.Duration
	var reqs []int
	var size int
	for range n {
		before, err := fileSize(c.AuditLog)
		if err != nil {
			return err
		}
		t0 := time.Now()
		size, err = get(client, page)
		if err != nil {
			return err
		}
		walls = append(walls, time.Since(t0))
		time.Sleep(300 * time.Millisecond) // let the audit log flush
		r, err := countRequests(c.AuditLog, before, ns)
		if err != nil {
			return err
		}
		reqs = append(reqs, r)
	}
	fmt.Printf("Jobs page of %s (%d jobs, %d runs, %d KiB of HTML): median %s, min %s, max %s over %d GETs; API requests per page: median %d, max %d\n",
		ns, jobs, jobs*runsPer, size>>10, ms(median(walls)), ms(slices.Min(walls)), ms(slices.Max(walls)), n, median(reqs), slices.Max(reqs))

	// A client of the live updates, reading the SSE stream directly.
	req, _ := http.NewRequestWithContext(uictx, "GET", base+"/namespaces/"+ns+"/events", nil)
	resp, err := (&http.Client{Jar: jar}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("events: %s", resp.Status)
	}
	events := make(chan sseEvent, 64)
	go readSSE(resp.Body, events)
	time.Sleep(2 * time.Second) // the watch is set up after the headers
	var toEvent, toPage []time.Duration
	for i := range changes {
		name := fmt.Sprintf("live-%d-%02d", time.Now().Unix(), i)
		t0 := time.Now()
		job, err := cs.BatchV1().Jobs(ns).Create(ctx, runJob(name, "job-00000"), metav1.CreateOptions{})
		if err != nil {
			return err
		}
		created := time.Since(t0)
		d, err := await(events, name, t0)
		if err != nil {
			return fmt.Errorf("run %s created: %w", name, err)
		}
		toEvent = append(toEvent, d)
		// What an open Jobs page does on the event: fetch itself again.
		if _, err := get(client, page); err != nil {
			return err
		}
		toPage = append(toPage, time.Since(t0))
		time.Sleep(300 * time.Millisecond)

		t0 = time.Now()
		finish(job, time.Now(), i%2 == 0)
		if _, err := cs.BatchV1().Jobs(ns).UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
			return err
		}
		if d, err = await(events, name, t0); err != nil {
			return fmt.Errorf("run %s finished: %w", name, err)
		}
		toEvent = append(toEvent, d)
		fmt.Fprintf(os.Stderr, "change %d: create took %s, events after %s and %s\n", i, ms(created), ms(toEvent[len(toEvent)-2]), ms(d))
		time.Sleep(300 * time.Millisecond)
	}
	if changes == 0 {
		return nil
	}
	fmt.Printf("run change → SSE event (%d changes: %d Jobs created, %d finished; from the write request's start): median %s, max %s\n",
		len(toEvent), changes, changes, ms(median(toEvent)), ms(slices.Max(toEvent)))
	fmt.Printf("run created → its Jobs page fetched again (event + GET of the page, what app.js does): median %s, max %s\n",
		ms(median(toPage)), ms(slices.Max(toPage)))
	return nil
}

// lists times the Jobs page's three API requests alone, made the way the
// UI makes them (protobuf, one after the other), to tell the API server's
// share of the page from the UI's own.
func lists(c *cluster.Cluster, ns string, n int) error {
	cfg, err := c.RESTConfig(false)
	if err != nil {
		return err
	}
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.QPS, cfg.Burst = -1, 0
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx := context.Background()
	var walls []time.Duration
	for i := -1; i < n; i++ {
		t0 := time.Now()
		if _, err := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: jobdef.LabelKind + "=" + jobdef.KindJob,
			FieldSelector: "type=" + string(jobdef.SecretType)}); err != nil {
			return err
		}
		if _, err := cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: "shipjob.dev/kind=run"}); err != nil {
			return err
		}
		if _, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "shipjob.dev/run"}); err != nil {
			return err
		}
		if i >= 0 {
			walls = append(walls, time.Since(t0))
		}
	}
	fmt.Printf("the page's 3 lists alone (client-go, protobuf, sequential): median %s, min %s, max %s over %d\n",
		ms(median(walls)), ms(slices.Min(walls)), ms(slices.Max(walls)), n)
	return nil
}

// fill creates jobs definitions (through jobdef.ToSecret, as `create` stores
// them) and runsPer runs of each: run-shaped Jobs whose status is set
// directly (spec.managedBy keeps the Job controller out, as in runbench),
// succeeded but for the newest run of every 10th job, which failed.
func fill(ctx context.Context, cs kubernetes.Interface, ns string, jobs, runsPer int) error {
	sem := make(chan struct{}, 16)
	errs := make(chan error, jobs)
	now := time.Now()
	for i := range jobs {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errs <- fillJob(ctx, cs, ns, i, runsPer, now)
		}()
	}
	var err error
	for range jobs {
		err = errors.Join(err, <-errs)
	}
	return err
}

func fillJob(ctx context.Context, cs kubernetes.Interface, ns string, i, runsPer int, now time.Time) error {
	name := fmt.Sprintf("job-%05d", i)
	j := jobdef.New(ns, name)
	j.Spec.Image = "example.com/acme/app"
	j.Spec.Tag = "1.4"
	j.Spec.Description = "benchmark job"
	j.Spec.Parameters = []jobdef.Parameter{{Name: "TARGET", Default: "latest"}}
	sec, err := jobdef.ToSecret(j)
	if err != nil {
		return err
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create job %s: %w", name, err)
	}
	for k := range runsPer {
		r := fmt.Sprintf("%s-%03d", name, k)
		created, err := cs.BatchV1().Jobs(ns).Create(ctx, runJob(r, name), metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create run %s: %w", r, err)
		}
		finish(created, now.Add(-time.Duration(runsPer-k)*time.Hour), k < runsPer-1 || i%10 != 3)
		if _, err := cs.BatchV1().Jobs(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("finish run %s: %w", r, err)
		}
	}
	return nil
}

// runJob is a run-shaped Job of job that no controller runs.
func runJob(name, job string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"shipjob.dev/kind": "run", "shipjob.dev/job": job, "shipjob.dev/run": name},
			Annotations: map[string]string{"shipjob.dev/triggered-by": "user:bench", "shipjob.dev/image": "example.com/acme/app:1.4",
				"shipjob.dev/parameters": `{"TARGET":"v1"}`}},
		Spec: batchv1.JobSpec{ManagedBy: ptr("shipjob.dev/bench"), BackoffLimit: new(int32), Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"shipjob.dev/job": job, "shipjob.dev/run": name}},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
				Name: "job", Image: "example.com/acme/app:1.4"}}}}},
	}
}

// finish records j as started at t0 and ended 5 s later, succeeded or failed.
func finish(j *batchv1.Job, t0 time.Time, ok bool) {
	start, end := metav1.NewTime(t0), metav1.NewTime(t0.Add(5*time.Second))
	if ok {
		j.Status = batchv1.JobStatus{StartTime: &start, CompletionTime: &end, Succeeded: 1, Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: end},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: end}}}
		return
	}
	j.Status = batchv1.JobStatus{StartTime: &start, Failed: 1, Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonBackoffLimitExceeded, LastTransitionTime: end},
		{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonBackoffLimitExceeded, LastTransitionTime: end}}}
}

func ptr[T any](v T) *T { return &v }

// get fetches url (following redirects) and returns the body's size.
func get(c *http.Client, url string) (int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return int(n), nil
}

type sseEvent struct {
	name, data string
	at         time.Time
}

// readSSE sends every event of the stream, stamped when its last line came.
func readSSE(r io.Reader, out chan<- sseEvent) {
	s := bufio.NewScanner(r)
	var ev sseEvent
	for s.Scan() {
		line := s.Text()
		switch {
		case line == "":
			if ev.name != "" || ev.data != "" {
				ev.at = time.Now()
				out <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data += strings.TrimPrefix(line, "data: ")
		}
	}
	close(out)
}

// await returns how long after t0 an event named run came.
func await(events <-chan sseEvent, run string, t0 time.Time) (time.Duration, error) {
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return 0, errors.New("the event stream ended")
			}
			if ev.name == "problem" {
				return 0, fmt.Errorf("event stream: %s", ev.data)
			}
			var names []string
			if ev.name == "runs" && json.Unmarshal([]byte(ev.data), &names) == nil && slices.Contains(names, run) {
				return ev.at.Sub(t0), nil
			}
		case <-timeout:
			return 0, errors.New("no event within 10 s")
		}
	}
}

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// countRequests counts the completed requests of the UI (user agent
// kubectl-shipjob) in namespace ns written to the audit log after offset.
func countRequests(path string, offset int64, ns string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 0, err
	}
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 16<<20)
	count := 0
	for s.Scan() {
		var e struct {
			Stage     string `json:"stage"`
			UserAgent string `json:"userAgent"`
			ObjectRef struct {
				Namespace string `json:"namespace"`
			} `json:"objectRef"`
		}
		if json.Unmarshal(s.Bytes(), &e) == nil && e.Stage == "ResponseComplete" &&
			strings.HasPrefix(e.UserAgent, "kubectl-shipjob") && e.ObjectRef.Namespace == ns {
			count++
		}
	}
	return count, s.Err()
}

func median[T time.Duration | int](d []T) T {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
