package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// TestUIRBAC: what a person may do decides what they see. Two people with
// their own kubeconfigs (ServiceAccount tokens): a viewer of namespace A
// sees its jobs but no button of a write, has only A in the namespace
// switcher, gets a 403 page for namespace B and for a forged run POST (a
// valid CSRF token, same origin) that changes nothing in the cluster; an
// editor of A sees the buttons and runs the job.
func TestUIRBAC(t *testing.T) {
	t.Parallel()
	nsA := cluster.Namespace(t, false)
	nsB := cluster.Namespace(t, false)
	createSimJob(t, nsA, "j")
	createSimJob(t, nsB, "other")
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	view := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets", "pods", "pods/log", "events"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"get", "list", "watch"}},
	}
	viewer := personKubeconfig(t, cs, nsA, "viewer", view)
	editor := personKubeconfig(t, cs, nsA, "editor", cluster.LimitedRules)

	t.Run("viewer", func(t *testing.T) {
		ui := startUI(t, "--kubeconfig", viewer, "-n", nsA)
		ctx := newBrowser(t)
		do(t, ctx, chromedp.Navigate(ui.Login))
		waitJS(t, ctx, 15*time.Second, "the jobs of A", "document.querySelector('a.strong')?.textContent === 'j'")
		if n := eval[int](t, ctx, `document.querySelectorAll('a[href$="/new-job"]').length`); n != 0 {
			t.Errorf("viewer sees %d Create job links", n)
		}
		opts := eval[[]string](t, ctx, `[...document.querySelectorAll('#namespaces option')].map(o => o.value)`)
		if !slices.Contains(opts, nsA) || slices.Contains(opts, nsB) {
			t.Errorf("switcher lists %v: want %s, not %s", opts, nsA, nsB)
		}
		do(t, ctx, chromedp.Navigate(ui.Base+"/namespaces/"+nsA+"/jobs/j/run"))
		waitJS(t, ctx, 10*time.Second, "the run tab", "document.querySelector('#may-not-run')")
		if n := eval[int](t, ctx, `document.querySelectorAll('#run, .page-head .actions a').length`); n != 0 {
			t.Errorf("viewer's run tab shows %d Run buttons", n)
		}
		do(t, ctx, chromedp.Navigate(ui.Base+"/namespaces/"+nsA+"/jobs/j/configuration"))
		waitJS(t, ctx, 10*time.Second, "the configuration tab", "document.querySelector('#may-not-save')")
		if n := eval[int](t, ctx, `document.querySelectorAll('#save, a[href$="/jobs/j/delete"]').length`); n != 0 {
			t.Errorf("viewer's configuration tab shows %d Save/Delete buttons", n)
		}
		do(t, ctx, chromedp.Navigate(ui.Base+"/namespaces/"+nsA+"/jobs/j/hooks"))
		waitJS(t, ctx, 10*time.Second, "the hooks tab", "document.querySelector('h1')")
		if n := eval[int](t, ctx, `document.querySelectorAll('#create-hook').length`); n != 0 {
			t.Errorf("viewer's hooks tab offers to create a hook")
		}

		do(t, ctx, chromedp.Navigate(ui.Base+"/namespaces/"+nsB+"/jobs"))
		waitJS(t, ctx, 10*time.Second, "a 403 page for B", "document.querySelector('h1')?.textContent === 'Forbidden'")
		if text := pageText(ctx); !strings.Contains(text, "secrets") || !strings.Contains(text, nsB) || !strings.Contains(text, "list") {
			t.Errorf("B's 403 page does not name the verb, resource and namespace: %s", text)
		}
		if code := fetchStatus(t, ctx, "GET", "/namespaces/"+nsB+"/jobs", ""); code != 403 {
			t.Errorf("GET B's jobs: %d, want 403", code)
		}

		// Forged POSTs: the session's CSRF token (from A's run tab), same
		// origin; refused before anything is written.
		do(t, ctx, chromedp.Navigate(ui.Base+"/namespaces/"+nsA+"/jobs/j/run"))
		waitJS(t, ctx, 10*time.Second, "the run tab", "document.querySelector('input[name=_csrf]')")
		csrf := eval[string](t, ctx, `document.querySelector('input[name=_csrf]').value`)
		before := objectVersions(t, nsA)
		for _, post := range []struct{ path, says string }{
			{"/namespaces/" + nsA + "/jobs/j/run", "create jobs.batch"},
			{"/namespaces/" + nsA + "/jobs/j/delete", "delete secrets"},
			{"/namespaces/" + nsA + "/jobs/j/hooks", "create secrets"},
			{"/namespaces/" + nsA + "/new-job", "create secrets"},
		} {
			code, body := fetch(t, ctx, "POST", post.path, "_csrf="+csrf+"&name=x&image=busybox")
			if code != 403 || !strings.Contains(body, "<h1>Forbidden</h1>") || !strings.Contains(body, post.says) || !strings.Contains(body, nsA) {
				t.Errorf("forged POST %s: %d, want a 403 page naming %q in %s: %.400s", post.path, code, post.says, nsA, body)
			}
		}
		if after := objectVersions(t, nsA); after != before {
			t.Errorf("refused POSTs changed the namespace:\n%s\n---\n%s", before, after)
		}
		if runs := listRuns(t, nsA, "j"); len(runs) != 0 {
			t.Errorf("refused run POST started %d runs", len(runs))
		}
		screenshot(t, ctx, "rbac-viewer-run-tab")
	})

	t.Run("editor", func(t *testing.T) {
		ui := startUI(t, "--kubeconfig", editor, "-n", nsA)
		ctx := newBrowser(t)
		do(t, ctx, chromedp.Navigate(ui.Login))
		waitJS(t, ctx, 15*time.Second, "the jobs of A", "document.querySelector('a.strong')?.textContent === 'j'")
		if n := eval[int](t, ctx, `document.querySelectorAll('a[href$="/new-job"]').length`); n == 0 {
			t.Errorf("editor sees no Create job link")
		}
		do(t, ctx, chromedp.Navigate(ui.Base+"/namespaces/"+nsA+"/jobs/j"))
		waitJS(t, ctx, 10*time.Second, "the Run button", `document.querySelector('.page-head .actions a[href$="/jobs/j/run"]')`)
		click(t, ctx, `.page-head .actions a[href$="/jobs/j/run"]`)
		waitJS(t, ctx, 10*time.Second, "the run form", "document.querySelector('#run')")
		click(t, ctx, "#run")
		waitJS(t, ctx, 30*time.Second, "the run's page", "location.pathname.startsWith('/namespaces/"+nsA+"/runs/j-')")
		if runs := listRuns(t, nsA, "j"); len(runs) != 1 {
			t.Errorf("editor's run: %d runs, want 1", len(runs))
		}
		if n := eval[int](t, ctx, `document.querySelectorAll('#delete').length`); n != 1 {
			t.Errorf("editor's run page has no Delete run button")
		}
	})
}

// personKubeconfig makes a person of ns: a ServiceAccount bound to a Role
// of rules there, allowed to list namespaces (the switcher), and a
// kubeconfig with its token.
func personKubeconfig(t *testing.T, cs kubernetes.Interface, ns, name string, rules []rbacv1.PolicyRule) string {
	t.Helper()
	ctx := context.Background()
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns}}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subject,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	crName := ns + "-" + name
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: crName},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"list"}}}}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, cr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: crName}, Subjects: subject,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: crName}}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.RbacV1().ClusterRoleBindings().Delete(context.Background(), crName, metav1.DeleteOptions{})
		_ = cs.RbacV1().ClusterRoles().Delete(context.Background(), crName, metav1.DeleteOptions{})
	})
	exp := int64(3600)
	tok, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := cluster.Shared.RESTConfig(false)
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: admin.Host, CertificateAuthorityData: admin.CAData}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: "local", AuthInfo: name, Namespace: ns}
	cfg.CurrentContext = name
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// fetch sends a request from the page (same origin, the session's cookie)
// and returns its status and body; redirects are not followed.
func fetch(t *testing.T, ctx context.Context, method, path, form string) (int, string) {
	t.Helper()
	js := fmt.Sprintf(`fetch(%s, {method: %s, redirect: 'manual'%s}).then(async r => [String(r.status), await r.text()])`,
		jsString(path), jsString(method), map[bool]string{true: "", false: ", headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: " + jsString(form)}[form == ""])
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[[]string](js, chromedp.EvalAwaitPromise))
	if err != nil || len(v) != 2 {
		t.Fatalf("fetch %s %s: %v", method, path, err)
	}
	var code int
	fmt.Sscan(v[0], &code)
	return code, v[1]
}

func fetchStatus(t *testing.T, ctx context.Context, method, path, form string) int {
	code, _ := fetch(t, ctx, method, path, form)
	return code
}
