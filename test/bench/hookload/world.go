package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
	"github.com/shipjob/kubectl-shipjob/test/bench/benchkit"
	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

const (
	kindTrigger = "triggers"
	kindRaw     = "raw creates"
	image       = "example.com/acme/sim:1"
	rawAgent    = "hookload-raw"
)

// world is the benchmark's namespace: one job with one deploy hook per
// client.
type world struct {
	c      *cluster.Cluster
	cs     kubernetes.Interface
	env    []string
	ns     string
	jobs   []string
	tokens []string
	http   *http.Client
}

// newWorld creates the namespace and, with the real CLI, a job and a hook
// per client. The jobs refuse no trigger: no maxActiveRuns, no
// maxRunsPerMinute; history limits stay at their defaults, so a trigger
// bounds the history as it does for any job.
func newWorld(ctx context.Context, c *cluster.Cluster, plugin string, clients int) (*world, error) {
	cs, err := c.Client()
	if err != nil {
		return nil, err
	}
	w := &world{c: c, cs: cs, env: append(os.Environ(), "KUBECONFIG="+c.Kubeconfig),
		ns:   fmt.Sprintf("hookload-%d", time.Now().Unix()),
		http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 100}}}
	if err := c.CreateNamespace(ctx, w.ns); err != nil {
		return nil, err
	}
	for i := range clients {
		job := fmt.Sprintf("svc%d", i)
		if out, err := benchkit.Command(w.env, plugin, "create", job, "-n", w.ns, "--image", image,
			"--max-active-runs", "0", "--max-runs-per-minute", "0").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("create job %s: %w: %s", job, err, out)
		}
		out, err := benchkit.Command(w.env, plugin, "hook", "create", job, "-n", w.ns, "--name", "load",
			"-o", "jsonpath={.token}").Output()
		if err != nil || len(out) == 0 {
			return nil, fmt.Errorf("create hook of %s: %v: %s", job, err, out)
		}
		w.jobs = append(w.jobs, job)
		w.tokens = append(w.tokens, strings.TrimSpace(string(out)))
	}
	return w, nil
}

// warmUp triggers every job twice through the replicas (the first
// trigger of a job creates its release; connections get established).
func (w *world) warmUp(servers []*replica) error {
	for k := range 2 {
		for i, tok := range w.tokens {
			s := w.post(servers[(i+k)%len(servers)].url, tok)
			if s.code != http.StatusCreated {
				return fmt.Errorf("warm-up trigger of %s: %d %s", w.jobs[i], s.code, s.err)
			}
		}
	}
	return nil
}

// sample is one request: its status (0: transport error) and latency.
type sample struct {
	code    int
	err     string
	latency time.Duration
}

// post sends one trigger with an empty body.
func (w *world) post(url, token string) sample {
	req, err := http.NewRequest(http.MethodPost, url+"/api/v1/dh", strings.NewReader(`{}`))
	if err != nil {
		return sample{err: err.Error()}
	}
	req.Header.Set("X-Deploy-Hook-Token", token)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := w.http.Do(req)
	if err != nil {
		return sample{err: err.Error(), latency: time.Since(start)}
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	s := sample{code: resp.StatusCode, latency: time.Since(start)}
	if resp.StatusCode != http.StatusCreated {
		s.err = strings.TrimSpace(string(body))
	}
	return s
}

// triggers: each client POSTs triggers of its own job, one after the
// other, alternating between the replicas, until deadline.
func (w *world) triggers(servers []*replica, deadline time.Time) []sample {
	return clients(len(w.tokens), deadline, func(c, k int) sample {
		return w.post(servers[(c+k)%len(servers)].url, w.tokens[c])
	})
}

// rawCreates: each client POSTs copies of a run's Job to the API server,
// one after the other, until deadline.
func (w *world) rawCreates(ctx context.Context, cs kubernetes.Interface, tmpl *batchv1.Job, prefix string, deadline time.Time) []sample {
	return clients(len(w.tokens), deadline, func(c, k int) sample {
		j := tmpl.DeepCopy()
		j.Name = fmt.Sprintf("raw-%s-%d-%d", prefix, c, k)
		start := time.Now()
		_, err := cs.BatchV1().Jobs(w.ns).Create(ctx, j, metav1.CreateOptions{})
		s := sample{code: http.StatusCreated, latency: time.Since(start)}
		if err != nil {
			s.code, s.err = 0, err.Error()
			if st, ok := err.(apierrors.APIStatus); ok {
				s.code = int(st.Status().Code)
			}
		}
		return s
	})
}

// clients runs n clients, each calling do(client, k) for k = 0, 1, …
// while the deadline has not passed.
func clients(n int, deadline time.Time, do func(c, k int) sample) []sample {
	out := make([][]sample, n)
	var wg sync.WaitGroup
	for c := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; time.Now().Before(deadline); k++ {
				out[c] = append(out[c], do(c, k))
			}
		}()
	}
	wg.Wait()
	var all []sample
	for _, s := range out {
		all = append(all, s...)
	}
	return all
}

// rawTemplate is a run's Job as the API server stored it, made a plain
// Job again: the same spec (image, env, TTL, pod template), the run's
// annotations, no run labels (the hook server's run ends must not see it)
// and nothing the API server sets.
func (w *world) rawTemplate(ctx context.Context) (*batchv1.Job, error) {
	list, err := w.cs.BatchV1().Jobs(w.ns).List(ctx, metav1.ListOptions{LabelSelector: run.LabelKind + "=" + run.KindRun, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(list.Items) == 0 {
		return nil, fmt.Errorf("no run Job in %s after the warm-up", w.ns)
	}
	src := list.Items[0]
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"hookload.bench/raw": "true"}, Annotations: src.Annotations},
		Spec:       *src.Spec.DeepCopy(),
	}
	j.Spec.Selector, j.Spec.ManualSelector = nil, nil
	j.Spec.Template.Labels = map[string]string{"hookload.bench/raw": "true"}
	return j, nil
}

// clean deletes the namespace's Jobs (with their pods) and waits until
// they are gone, so that every phase starts from the same world.
func (w *world) clean(ctx context.Context) error {
	start := time.Now()
	bg := metav1.DeletePropagationBackground
	if err := w.cs.BatchV1().Jobs(w.ns).DeleteCollection(ctx, metav1.DeleteOptions{PropagationPolicy: &bg}, metav1.ListOptions{}); err != nil {
		return fmt.Errorf("delete Jobs: %w", err)
	}
	for {
		jobs, err := w.cs.BatchV1().Jobs(w.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		pods, err := w.cs.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(jobs.Items)+len(pods.Items) == 0 {
			break
		}
		if time.Since(start) > 10*time.Minute {
			return fmt.Errorf("%d Jobs and %d pods left 10 minutes after deleting them", len(jobs.Items), len(pods.Items))
		}
		time.Sleep(time.Second)
	}
	fmt.Fprintf(os.Stderr, "cleaned in %s\n", time.Since(start).Round(100*time.Millisecond))
	time.Sleep(2 * time.Second) // let the controllers and the audit log settle
	return nil
}
