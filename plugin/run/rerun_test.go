package run

import (
	"maps"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef/jobdeftest"
)

var pin = "sha256:" + strings.Repeat("b", 64)

// jobSecret is the stored definition of job migrate, changed by mutate.
func jobSecret(t *testing.T, mutate func(*jobdef.Job)) *corev1.Secret {
	t.Helper()
	return jobdeftest.Secret(t, mutate)
}

// ranWith is a run of migrate that recorded image and parameters.
func ranWith(image, params string) *batchv1.Job {
	return runJob("migrate", "migrate-1", 0, func(j *batchv1.Job) {
		j.Annotations[AnnotationImage] = image
		j.Annotations[AnnotationParameters] = params
	})
}

// TestRerunRequestCarriesParametersAndTag: a rerun keeps what its run ran
// with, as far as the definition as it is now allows, and says what not.
func TestRerunRequestCarriesParametersAndTag(t *testing.T) {
	twoParams := func(j *jobdef.Job) {
		j.Spec.Tag = "1"
		j.Spec.Parameters = []jobdef.Parameter{{Name: "TARGET", Default: "latest"}, {Name: "MODE", Default: "fast"}}
	}
	cases := map[string]struct {
		def       func(*jobdef.Job)
		run       *batchv1.Job
		params    map[string]string
		tag       string
		want      map[string]string
		wantTag   string
		wantWarns []string
	}{
		"parameters and tag": {def: twoParams, run: ranWith("example.com/migrate:1.4", `{"TARGET":"v42","MODE":"slow"}`),
			want: map[string]string{"TARGET": "v42", "MODE": "slow"}, wantTag: "1.4"},
		"overrides win": {def: twoParams, run: ranWith("example.com/migrate:1.4", `{"TARGET":"v42","MODE":"slow"}`),
			params: map[string]string{"MODE": "fast", "NEW": "x"}, tag: "2.0",
			want: map[string]string{"TARGET": "v42", "MODE": "fast", "NEW": "x"}, wantTag: "2.0"},
		"dropped parameter": {def: nil, run: ranWith("example.com/migrate:1.4", `{"TARGET":"v42","GONE":"1"}`),
			want: map[string]string{"TARGET": "v42"}, wantTag: "1.4",
			wantWarns: []string{"parameter GONE of run migrate-1 is dropped: job migrate no longer has it"}},
		"repository changed": {def: twoParams, run: ranWith("example.com/old:1.4", `{}`), want: map[string]string{},
			wantWarns: []string{"run migrate-1 ran example.com/old:1.4, but job migrate's image is now example.com/migrate: the rerun uses example.com/migrate:1"}},
		"pinned run reruns pinned": {def: func(j *jobdef.Job) { j.Spec.Digest = pin }, run: ranWith("example.com/migrate@"+pin, `{}`),
			want: map[string]string{}},
		"pinned run, job pinned elsewhere": {def: func(j *jobdef.Job) { j.Spec.Digest = "sha256:" + strings.Repeat("c", 64) },
			run: ranWith("example.com/migrate@"+pin, `{}`), want: map[string]string{},
			wantWarns: []string{"run migrate-1 was pinned to " + pin + "; job migrate now runs example.com/migrate@sha256:ccc"}},
		"tag run, job now pinned": {def: func(j *jobdef.Job) { j.Spec.Digest = pin }, run: ranWith("example.com/migrate:1.4", `{}`),
			want: map[string]string{}, wantWarns: []string{"run migrate-1 ran tag 1.4, but job migrate is now pinned to " + pin}},
		"tag run, pinned job allows tags": {def: func(j *jobdef.Job) { j.Spec.Digest, j.Spec.AllowTagOverride = pin, true },
			run: ranWith("example.com/migrate:1.4", `{}`), want: map[string]string{}, wantTag: "1.4"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cs := fake.NewClientset(jobSecret(t, tc.def), tc.run)
			req, warns, err := RerunRequest(t.Context(), cs, "ns", "migrate-1", tc.params, tc.tag)
			if err != nil {
				t.Fatal(err)
			}
			if req.Job != "migrate" || req.RerunOf != "migrate-1" || req.Namespace != "ns" || req.Tag != tc.wantTag || !maps.Equal(req.Params, tc.want) {
				t.Errorf("request %+v; want params %v, tag %q", req, tc.want, tc.wantTag)
			}
			if len(warns) != len(tc.wantWarns) {
				t.Fatalf("warnings %q, want %q", warns, tc.wantWarns)
			}
			for i, w := range tc.wantWarns {
				if !strings.HasPrefix(warns[i], w) {
					t.Errorf("warning %q, want %q", warns[i], w)
				}
			}
		})
	}
}

func TestRerunRequestErrors(t *testing.T) {
	notRun := runJob("migrate", "plain", 0, func(j *batchv1.Job) { j.Labels = nil })
	orphan := runJob("gone", "gone-1", 0)
	cs := fake.NewClientset(jobSecret(t, nil), notRun, orphan)
	for _, name := range []string{"nope", "plain"} {
		if _, _, err := RerunRequest(t.Context(), cs, "ns", name, nil, ""); !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), `runs.shipjob.dev "`+name+`" not found`) {
			t.Errorf("%s: %v, want runs.shipjob.dev not found", name, err)
		}
	}
	if _, _, err := RerunRequest(t.Context(), cs, "ns", "gone-1", nil, ""); !IsNotARun(err) || !strings.Contains(err.Error(), "Job gone-1 in namespace ns is not a run of job gone: that job does not exist") {
		t.Errorf("run of a deleted job: %v", err)
	}
}
