package ui

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// TestConfigurationNeverShowsSecretDefaults (review N10 a): the
// Configuration tab sends no secret default to the browser (a password
// field, empty); saving it unchanged keeps the default, a value replaces
// it, "clear default" removes it; a form shown again after an error does
// not echo a typed secret either.
func TestConfigurationNeverShowsSecretDefaults(t *testing.T) {
	const stored = "stored-secret-default"
	j := jobdef.New("team", "migrate")
	j.Spec.Image, j.Spec.Tag = "example.com/migrate", "1"
	j.Spec.Parameters = []jobdef.Parameter{{Name: "TARGET", Default: "latest"}, {Name: "TOKEN", Default: stored, Secret: true}}
	sec, err := jobdef.ToSecret(j)
	if err != nil {
		t.Fatal(err)
	}
	sec.ResourceVersion = "1"
	cs := fake.NewClientset(sec)
	s, err := NewServer(Config{Client: cs, Engine: noEngine{}, Namespace: "team"}, testHost)
	if err != nil {
		t.Fatal(err)
	}
	startSession(s)
	h := s.Handler()
	do := func(method string, form url.Values) *httptest.ResponseRecorder {
		var r *http.Request
		if form == nil {
			r = httptest.NewRequest(method, "http://"+testHost+"/namespaces/team/jobs/migrate/configuration", nil)
		} else {
			form.Set(csrfField, s.sess.csrf)
			r = httptest.NewRequest(method, "http://"+testHost+"/namespaces/team/jobs/migrate/configuration", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		r.AddCookie(&http.Cookie{Name: s.sess.cookieName(), Value: s.sess.cookie})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	storedDefault := func() string {
		got, err := (&jobdef.Store{Client: cs, Namespace: "team"}).Get(t.Context(), "migrate")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range got.Spec.Parameters {
			if p.Name == "TOKEN" {
				if !p.Secret {
					t.Fatalf("TOKEN is no longer secret")
				}
				return p.Default
			}
		}
		t.Fatalf("TOKEN is gone")
		return ""
	}
	page := do("GET", nil)
	body := page.Body.String()
	if page.Code != 200 || strings.Contains(body, stored) {
		t.Fatalf("Configuration tab (%d) shows the secret default", page.Code)
	}
	if !strings.Contains(body, `type="password" autocomplete="new-password" name="param.1.default" id="param-1-default" value=""`) ||
		!strings.Contains(body, `name="param.1.clear"`) || !strings.Contains(body, `value="latest"`) {
		t.Fatalf("Configuration tab's parameters:\n%s", body)
	}
	form := func(token string, extra ...string) url.Values {
		v := url.Values{"resourceVersion": {currentRV(t, cs)}, "image": {"example.com/migrate"}, "tag": {"1"},
			"memory": {"256Mi"}, "cpu": {"250m"}, "timeout": {"15m"}, "retention": {"14d"}, "retries": {"0"},
			"param.0.name": {"TARGET"}, "param.0.default": {"latest"}, "param.1.name": {"TOKEN"}, "param.1.default": {token}, "param.1.secret": {"1"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	if w := do("POST", form("")); w.Code != http.StatusSeeOther {
		t.Fatalf("save unchanged: %d %s", w.Code, w.Body)
	}
	if d := storedDefault(); d != stored {
		t.Fatalf("saved unchanged: TOKEN default %q, want it kept", d)
	}
	if w := do("POST", form("replaced-secret")); w.Code != http.StatusSeeOther {
		t.Fatalf("save replaced: %d %s", w.Code, w.Body)
	}
	if d := storedDefault(); d != "replaced-secret" {
		t.Fatalf("replaced: TOKEN default %q", d)
	}
	// An error elsewhere shows the form again: the typed secret is not echoed.
	if w := do("POST", form("typed-secret", "retries", "many")); w.Code != http.StatusUnprocessableEntity ||
		strings.Contains(w.Body.String(), "typed-secret") || strings.Contains(w.Body.String(), "replaced-secret") {
		t.Fatalf("form shown again (%d) echoes a secret", w.Code)
	}
	if w := do("POST", form("", "param.1.clear", "1")); w.Code != http.StatusSeeOther {
		t.Fatalf("save cleared: %d %s", w.Code, w.Body)
	}
	if d := storedDefault(); d != "" {
		t.Fatalf("cleared: TOKEN default %q", d)
	}
}

func currentRV(t *testing.T, cs *fake.Clientset) string {
	t.Helper()
	var s *corev1.Secret
	list, err := cs.CoreV1().Secrets("team").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		if strings.HasSuffix(list.Items[i].Name, "migrate") {
			s = &list.Items[i]
		}
	}
	if s == nil {
		t.Fatal("no job Secret")
	}
	return s.ResourceVersion
}
