package run

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// TestRerunRevealsOnlyItsOwnSecrets (review N10 c): a rerun reveals a
// recorded <secret> only for a parameter that is secret in the definition
// as it is now, only from the run's own Secret (owned by the run's Job
// UID), only from key param-NAME; never from the Secret the Job's env
// points at. Anything else is a one-line refusal naming the parameter.
func TestRerunRevealsOnlyItsOwnSecrets(t *testing.T) {
	t.Run("env pointing at another Secret", func(t *testing.T) {
		// A planted or edited Job is not a run: nothing is read for it.
		planted := runJob("migrate", "migrate-1", 0, func(j *batchv1.Job) {
			j.Annotations[AnnotationParameters] = `{"TOKEN":"<secret>"}`
			j.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "TOKEN",
				ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "victim"}, Key: "password"}}}}
		})
		cs := fake.NewClientset(jobSecret(t, func(j *jobdef.Job) {
			j.Spec.Parameters = []jobdef.Parameter{{Name: "TOKEN", Secret: true}}
		}), planted)
		if _, _, err := RerunRequest(t.Context(), cs, "ns", "migrate-1", nil, ""); !IsNotARun(err) {
			t.Fatalf("error %v, want a NotARunError", err)
		}
		for _, a := range cs.Actions() {
			if a.GetResource().Resource == "secrets" && a.GetVerb() == "get" {
				if g, ok := a.(interface{ GetName() string }); ok && g.GetName() != "shipjob-job-migrate" {
					t.Errorf("read Secret %s", g.GetName())
				}
			}
		}
	})
	secretToken := func(j *jobdef.Job) {
		j.Spec.Parameters = []jobdef.Parameter{{Name: "TARGET", Default: "latest"}, {Name: "TOKEN", Secret: true}}
	}
	// The run's Job (made before files were shared: its own Secret is
	// migrate-1-files), whose TOKEN env takes the value from that Secret.
	ranJob := func(mut ...func(*batchv1.Job)) *batchv1.Job {
		return runJob("migrate", "migrate-1", 0, append([]func(*batchv1.Job){func(j *batchv1.Job) {
			j.UID = "run-uid"
			j.Annotations[AnnotationParameters] = `{"TARGET":"v1","TOKEN":"<secret>"}`
			j.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "TOKEN",
				ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "migrate-1-files"}, Key: "param-TOKEN"}}}}
		}}, mut...)...)
	}
	own := func(uid string, data map[string][]byte) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "migrate-1-files", Namespace: "ns"}, Data: data}
		if uid != "" {
			s.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "migrate-1", UID: types.UID(uid)}}
		}
		return s
	}
	victim := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "victim", Namespace: "ns"},
		Data: map[string][]byte{"password": []byte("victim-password")}}
	good := map[string][]byte{"param-TOKEN": []byte("the-token"), "password": []byte("not-this")}
	cases := map[string]struct {
		def     func(*jobdef.Job)
		secret  *corev1.Secret
		given   map[string]string
		want    string // TOKEN's value
		wantErr string
	}{
		"own secret, owned by the run": {def: secretToken, secret: own("run-uid", good), want: "the-token"},
		"given value wins":             {def: secretToken, given: map[string]string{"TOKEN": "new"}, want: "new"},
		"no longer secret": {def: nil, secret: own("run-uid", good),
			wantErr: "secret parameter TOKEN of run migrate-1: its value was recorded as <secret>, and job migrate no longer keeps it secret: it is not revealed"},
		"own secret gone": {def: secretToken,
			wantErr: `secret parameter TOKEN of run migrate-1: read its Secret: secrets "migrate-1-files" not found`},
		"own secret of another owner": {def: secretToken, secret: own("other-uid", good),
			wantErr: "secret parameter TOKEN of run migrate-1: its Secret migrate-1-files is not owned by the run's Job (UID run-uid): it is not read"},
		"own secret without owner": {def: secretToken, secret: own("", good),
			wantErr: "secret parameter TOKEN of run migrate-1: its Secret migrate-1-files is not owned by the run's Job"},
		"key missing": {def: secretToken, secret: own("run-uid", map[string][]byte{"password": []byte("x")}),
			wantErr: "secret parameter TOKEN of run migrate-1: not in its Secret migrate-1-files"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			def := tc.def
			if def == nil {
				def = func(j *jobdef.Job) {
					j.Spec.Parameters = []jobdef.Parameter{{Name: "TARGET", Default: "latest"}, {Name: "TOKEN"}}
				}
			}
			cs := fake.NewClientset(jobSecret(t, def), ranJob(), victim)
			if tc.secret != nil {
				if _, err := cs.CoreV1().Secrets("ns").Create(t.Context(), tc.secret, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			req, _, err := RerunRequest(t.Context(), cs, "ns", "migrate-1", tc.given, "")
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %v, want one line starting %q", err, tc.wantErr)
				}
				if _, ok := err.(*SecretParamError); !ok {
					t.Fatalf("error %T, want *SecretParamError (the front ends ask for the value)", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tc.wantErr == "" && (req.Params["TOKEN"] != tc.want || req.Params["TARGET"] != "v1") {
				t.Fatalf("params %v, want TOKEN %q", req.Params, tc.want)
			}
			for _, a := range cs.Actions() {
				if g, ok := a.(interface{ GetName() string }); ok && a.GetVerb() == "get" && g.GetName() == "victim" {
					t.Fatalf("the Secret the Job's env points at was read")
				}
			}
		})
	}
}
