package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// editRecord rewrites Helm release record secret (in ns) as the review's
// reproduction does: its data is base64 of gzip of the release's JSON.
func editRecord(t *testing.T, cs kubernetes.Interface, ns, secret string, edit func(rel map[string]any)) {
	t.Helper()
	ctx := context.Background()
	sec, err := cs.CoreV1().Secrets(ns).Get(ctx, secret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gz, err := base64.StdEncoding.DecodeString(string(sec.Data["release"]))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var rel map[string]any
	if err := json.Unmarshal(raw, &rel); err != nil {
		t.Fatal(err)
	}
	edit(rel)
	raw, err = json.Marshal(rel)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	sec.Data["release"] = []byte(base64.StdEncoding.EncodeToString(buf.Bytes()))
	if _, err := cs.CoreV1().Secrets(ns).Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// records lists the names of release records of release name in ns.
func records(t *testing.T, cs kubernetes.Interface, ns, name string) []string {
	t.Helper()
	list, err := cs.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm,name=" + name})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range list.Items {
		out = append(out, s.Name)
	}
	return out
}

// victims are objects a tampered release record names: a Namespace, a
// ConfigMap in it (in the record's manifest), and one its pre-delete hook
// names. uids maps each to its UID, to see that it is still the same.
type victims struct {
	ns   string
	uids map[string]string
}

func plantVictims(t *testing.T, cs kubernetes.Interface) victims {
	t.Helper()
	ctx := context.Background()
	v := victims{ns: cluster.Namespace(t, false), uids: map[string]string{}}
	nsObj, err := cs.CoreV1().Namespaces().Get(ctx, v.ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v.uids["namespace/"+v.ns] = string(nsObj.UID)
	for _, name := range []string{"app-config", "hooked"} {
		cm, err := cs.CoreV1().ConfigMaps(v.ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		v.uids["configmap/"+name] = string(cm.UID)
	}
	return v
}

// tamper edits the newest record of job in ns to list the victims in its
// manifest (the Namespace and a ConfigMap) or to have a pre-delete hook
// (on the other ConfigMap).
func (v victims) tamper(t *testing.T, cs kubernetes.Interface, ns, job string, manifest, hook bool) {
	t.Helper()
	recs := records(t, cs, ns, job)
	if len(recs) == 0 {
		t.Fatalf("job %s has no release record", job)
	}
	newest := recs[0]
	for _, r := range recs {
		if len(r) > len(newest) || (len(r) == len(newest) && r > newest) {
			newest = r
		}
	}
	editRecord(t, cs, ns, newest, func(rel map[string]any) {
		if manifest {
			rel["manifest"] = rel["manifest"].(string) + "\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + v.ns +
				"\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\n  namespace: " + v.ns + "\n"
		}
		if !hook {
			return
		}
		rel["hooks"] = []any{map[string]any{"name": "hooked", "kind": "ConfigMap", "path": "shipjob-run/templates/hook.yaml",
			"manifest": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hooked\n  namespace: " + v.ns + "\n",
			"events":   []any{"pre-delete"}, "delete_policies": []any{"before-hook-creation", "hook-succeeded"}}}
	})
}

// intact checks that every victim is still there, the same object, not
// being deleted.
func (v victims) intact(t *testing.T, cs kubernetes.Interface, via string) {
	t.Helper()
	ctx := context.Background()
	// On purpose a fixed wait, not a condition: the check is that nothing
	// happens. A namespace deletion shows at once; give it a moment all the same.
	time.Sleep(time.Second)
	nsObj, err := cs.CoreV1().Namespaces().Get(ctx, v.ns, metav1.GetOptions{})
	if err != nil || string(nsObj.UID) != v.uids["namespace/"+v.ns] || nsObj.DeletionTimestamp != nil {
		t.Errorf("%s: namespace %s not intact: %v (deleting since %v)", via, v.ns, err, nsObj.GetDeletionTimestamp())
	}
	for _, name := range []string{"app-config", "hooked"} {
		cm, err := cs.CoreV1().ConfigMaps(v.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil || string(cm.UID) != v.uids["configmap/"+name] || cm.DeletionTimestamp != nil {
			t.Errorf("%s: configmap %s/%s not intact: %v", via, v.ns, name, err)
		}
	}
}

// TestDeleteJobIgnoresTamperedReleaseRecords (review N1): a release record
// edited to list a Namespace and a ConfigMap in another namespace, with a
// pre-delete hook on another ConfigMap, leaves all three untouched when an
// administrator deletes the job, from the CLI and from the UI; the job's
// records, runs, signing secret and definition are gone.
func TestDeleteJobIgnoresTamperedReleaseRecords(t *testing.T) {
	t.Parallel()
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	ns := cluster.Namespace(t, false)
	ctx := context.Background()
	gone := func(via, job string) {
		t.Helper()
		if recs := records(t, cs, ns, job); len(recs) != 0 {
			t.Errorf("%s: release records left: %v", via, recs)
		}
		for _, s := range []string{"shipjob-job-" + job, "shipjob-notify-" + job} {
			if _, err := cs.CoreV1().Secrets(ns).Get(ctx, s, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("%s: secret %s left (%v)", via, s, err)
			}
		}
		if runs := runJobs(t, ns, job); len(runs) != 0 {
			t.Errorf("%s: runs left: %v", via, runs)
		}
	}

	// CLI: a record listing the victims; a record with a pre-delete hook.
	for job, hook := range map[string]bool{"demo": false, "hooked": true} {
		v := plantVictims(t, cs)
		createNotifyJob(t, ns, job, "--notify", "https://example.com/hook")
		trigger(t, ns, job)
		v.tamper(t, cs, ns, job, !hook, hook)
		if res := sj(t, ns, "", nil, "delete", job); res.Code != 0 || !strings.HasPrefix(res.Stdout, "job.shipjob.dev/"+job+" deleted") {
			t.Errorf("delete %s: exit %d, %q %q", job, res.Code, res.Stdout, res.Stderr)
		}
		v.intact(t, cs, "CLI, job "+job)
		gone("CLI", job)
	}

	// UI: Delete job, confirmed.
	v := plantVictims(t, cs)
	createNotifyJob(t, ns, "viaui", "--notify", "https://example.com/hook")
	trigger(t, ns, "viaui")
	v.tamper(t, cs, ns, "viaui", true, false)
	ui := startUI(t, "-n", ns)
	bctx := newBrowser(t)
	do(t, bctx, chromedp.Navigate(ui.Login))
	waitJS(t, bctx, 10*time.Second, "the Jobs page", "location.pathname === '/namespaces/"+ns+"/jobs'")
	do(t, bctx, chromedp.Navigate(ui.Base+"/namespaces/"+ns+"/jobs/viaui/delete"))
	waitJS(t, bctx, 10*time.Second, "the confirmation", "document.querySelector('#confirm')")
	click(t, bctx, "#confirm")
	waitJS(t, bctx, 20*time.Second, "the Jobs page after the delete", "location.pathname === '/namespaces/"+ns+"/jobs'")
	v.intact(t, cs, "UI")
	gone("UI", "viaui")
}

// TestJobNamedLikeAnAppRelease (review N13): an application's Helm release
// that shares a job's name is never upgraded, pruned or deleted: `run` is
// refused in one line naming the release and its chart (exit 1, nothing
// written, `helm history` unchanged), the hook answers 409, and `delete`
// leaves the app's records and objects alone.
func TestJobNamedLikeAnAppRelease(t *testing.T) {
	t.Parallel()
	helm := helm3(t)
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	ns := cluster.Namespace(t, false)
	ctx := context.Background()
	chart := t.TempDir()
	for name, content := range map[string]string{
		"Chart.yaml":            "apiVersion: v2\nname: webapp\nversion: 1.0.0\n",
		"templates/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  a: b\n",
	} {
		p := filepath.Join(chart, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	helmCmd := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(helm, append(args, "-n", ns, "--kubeconfig", cluster.Shared.Kubeconfig)...).CombinedOutput()
		if err != nil {
			t.Fatalf("helm %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	helmCmd("install", "web", chart)
	history := helmCmd("history", "web")
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "web-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	createSimJob(t, ns, "web")
	recs := strings.Join(records(t, cs, ns, "web"), ",")

	before := snapshot(t, ns)
	res := sj(t, ns, "", nil, "run", "web")
	want := `error: Helm release web in namespace ` + ns + ` is of chart "webapp", not kubectl-shipjob's run chart shipjob-run: job web cannot run while that release exists (give the job another name)` + "\n"
	if res.Code != 1 || res.Stderr != want || res.Stdout != "" {
		t.Errorf("run web: exit %d, stdout %q, stderr %q\nwant exit 1 and %q", res.Code, res.Stdout, res.Stderr, want)
	}
	if after := snapshot(t, ns); !mapsEqual(before, after) {
		t.Errorf("a refused run wrote:\nbefore %v\nafter  %v", before, after)
	}
	_, token := createHook(t, ns, "web", "ci")
	before = snapshot(t, ns)
	srv := startHookServer(t, "-n", ns)
	if code, body, err := hookCall("POST", srv.URL+"/api/v1/dh", token, "application/json", "{}"); err != nil || code != 409 || !strings.Contains(body, `is of chart \"webapp\"`) {
		t.Errorf("hook trigger: %d %s %v, want 409 naming the chart", code, body, err)
	}
	if after := snapshot(t, ns); !mapsEqual(before, after) {
		t.Errorf("a refused trigger wrote:\nbefore %v\nafter  %v", before, after)
	}
	if h := helmCmd("history", "web"); h != history {
		t.Errorf("helm history changed:\n%s\nwas\n%s", h, history)
	}
	must(t, ns, "delete", "web")
	if got := strings.Join(records(t, cs, ns, "web"), ","); got != recs {
		t.Errorf("app's release records after delete: %s, want %s", got, recs)
	}
	if now, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "web-config", metav1.GetOptions{}); err != nil || now.UID != cm.UID {
		t.Errorf("app's ConfigMap after delete: %v", err)
	}
	if h := helmCmd("history", "web"); h != history {
		t.Errorf("helm history changed by delete:\n%s", h)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestPlantedRunIsIgnored (review N7, N12): Jobs created by hand with run
// labels and the job-uid of a real run (one also with Helm's release
// annotations and a privileged template, one labelled for a job that does
// not exist) get no notification (the receiver sees only the real run's),
// no Event, no metric series, no end processing; `debug` refuses them in
// one line and `logs` too; the hook status endpoint does not know them.
func TestPlantedRunIsIgnored(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rc := newReceiver(t, nil)
	createNotifyJob(t, ns, "deploy", "--notify", rc.url("/deploy"), "--env", "SIM_DURATION=1s")
	srv := startNotifier(t, ns, "replica-a", allowLocal...)
	real := trigger(t, ns, "deploy")
	waitEnded(t, ns, real, 90*time.Second)
	realJob := getJob(t, ns, real)

	plant := func(name, job string, mutate func(*batchv1.Job)) {
		t.Helper()
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels: map[string]string{"shipjob.dev/kind": "run", "shipjob.dev/job": job},
			Annotations: map[string]string{"shipjob.dev/job-uid": realJob.Annotations["shipjob.dev/job-uid"],
				"shipjob.dev/parameters": `{"VERSION":"evil"}`, "shipjob.dev/triggered-by": "user:admin"}},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "job", Image: "example.com/acme/sim:1"}}}}}}
		if mutate != nil {
			mutate(j)
		}
		if _, err := cs.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	privileged := true
	plant("deploy-0planted01", "deploy", nil)
	plant("deploy-0planted02", "deploy", func(j *batchv1.Job) {
		j.Annotations["meta.helm.sh/release-name"], j.Annotations["meta.helm.sh/release-namespace"] = "deploy", ns
		j.Spec.Template.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &privileged}
	})
	plant("random-0planted03", "random-label-n7", nil)
	for _, name := range []string{"deploy-0planted01", "deploy-0planted02", "random-0planted03"} {
		waitJob(t, ns, name, 60*time.Second, func(j *batchv1.Job, err error) bool {
			return err == nil && jobCondition(j, batchv1.JobComplete) != nil
		})
	}
	// On purpose a fixed wait: nothing is to happen (no notification, no
	// metric for a planted Job), and the leader has now seen them end.
	time.Sleep(5 * time.Second)

	if n := rc.count("/deploy"); n != 1 {
		t.Errorf("%d notifications, want 1 (the real run's)", n)
	}
	metrics := metricsOf(t, srv)
	if strings.Contains(metrics, "random-label-n7") {
		t.Errorf("a metric series for a planted job label:\n%s", metrics)
	}
	if v, _ := metric(metrics, "shipjob_runs_finished_total", map[string]string{"job": "deploy"}); v != 1 {
		t.Errorf("shipjob_runs_finished_total{job=deploy} = %v, want 1", v)
	}
	for _, name := range []string{"deploy-0planted01", "deploy-0planted02", "random-0planted03"} {
		for _, r := range eventReasons(t, ns, name) { // the Job controller's own are fine
			if strings.HasPrefix(r, "Run") {
				t.Errorf("%s: event %s", name, r)
			}
		}
		if j := getJob(t, ns, name); j.Annotations["shipjob.dev/ended"] != "" || j.Annotations["shipjob.dev/notifications"] != "" {
			t.Errorf("%s was processed: %v", name, j.Annotations)
		}
	}
	before := snapshot(t, ns)
	for _, name := range []string{"deploy-0planted01", "deploy-0planted02"} {
		for _, cmd := range [][]string{{"debug", name}, {"logs", name}} {
			res := sj(t, ns, "", nil, cmd...)
			want := "error: Job " + name + " in namespace " + ns + " is not a run of job deploy: "
			if res.Code != 1 || !strings.HasPrefix(res.Stderr, want) || strings.Count(res.Stderr, "\n") != 1 {
				t.Errorf("%v: exit %d, stderr %q; want 1 and %q…", cmd, res.Code, res.Stderr, want)
			}
		}
	}
	if pods := cluster.Kubectl(t, "-n", ns, "get", "pods", "-l", "shipjob.dev/kind=debug", "-o", "name"); strings.TrimSpace(pods) != "" {
		t.Errorf("debug pods created: %s", pods)
	}
	if after := snapshot(t, ns); !mapsEqual(before, after) {
		t.Errorf("refused debug wrote:\nbefore %v\nafter  %v", before, after)
	}
	_, token := createHook(t, ns, "deploy", "ci")
	// The real run's status answers once the server's hook index has the
	// new hook; from then on a planted run's must not.
	var last string
	poll(t, 30*time.Second, 200*time.Millisecond, "the status of the real run with the new hook", func() bool {
		code, body, err := hookCall("GET", srv.URL+"/api/v1/dh/runs/"+real, token, "", "")
		last = fmt.Sprintf("%d %s %v, want 200", code, body, err)
		return err == nil && code == 200
	}, func() string { return last })
	if code, body, err := hookCall("GET", srv.URL+"/api/v1/dh/runs/deploy-0planted02", token, "", ""); err != nil || code != 404 {
		t.Errorf("status of a planted run: %d %s %v, want 404", code, body, err)
	}
}
