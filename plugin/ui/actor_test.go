package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestActorGuard: with a Guard, each request's pages use its actor's
// client, namespace list, CSRF token and name; a request the guard passes
// on without an actor is refused.
func TestActorGuard(t *testing.T) {
	nsObj := func(n string) *corev1.Namespace { return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}} }
	actors := map[string]*Actor{
		"alice": {Client: fake.NewClientset(nsObj("team"), nsObj("alice-only")), Engine: noEngine{}, User: "user:alice@example.com",
			Name: "alice@example.com", SignOut: "/oauth2/logout", CSRF: "csrf-alice", Key: "alice"},
		"bob": {Client: fake.NewClientset(nsObj("team"), nsObj("bob-only")), Engine: noEngine{}, User: "user:bob@example.com",
			Name: "bob@example.com", SignOut: "/oauth2/logout", CSRF: "csrf-bob", Key: "bob"},
	}
	guard := func(static, pages http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/static/") {
				static.ServeHTTP(w, r)
				return
			}
			if a := actors[r.Header.Get("X-Test-User")]; a != nil {
				r = r.WithContext(WithActor(r.Context(), a))
			}
			pages.ServeHTTP(w, r)
		})
	}
	s, err := NewServer(Config{Namespace: "team", Guard: guard}, "console.example")
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	get := func(user string) (int, string) {
		r := httptest.NewRequest("GET", "https://console.example/namespaces/team/jobs", nil)
		if user != "" {
			r.Header.Set("X-Test-User", user)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		b, _ := io.ReadAll(w.Result().Body)
		return w.Code, string(b)
	}
	for name, other := range map[string]string{"alice": "bob", "bob": "alice"} {
		var body string
		// The first page waits for the list at most its timeout; a later one has it.
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			var code int
			code, body = get(name)
			if code != 200 {
				t.Fatalf("%s: code %d: %s", name, code, body)
			}
			if strings.Contains(body, name+"-only") {
				break
			}
		}
		for _, want := range []string{name + "-only", actors[name].Name, `value="csrf-` + name + `"`, `action="/oauth2/logout"`, "Sign out"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s's page lacks %q", name, want)
			}
		}
		if strings.Contains(body, other+"-only") || strings.Contains(body, "csrf-"+other) {
			t.Errorf("%s's page shows %s's data", name, other)
		}
	}
	if code, body := get(""); code != http.StatusInternalServerError {
		t.Errorf("no actor: code %d, want 500: %s", code, body)
	}
}
