package run

import (
	"maps"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

var pin = "sha256:" + strings.Repeat("b", 64)

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

// TestRerunTriggersWithProvenance: the request goes through the one
// trigger, which records rerun-of, and refuses what any trigger refuses.
func TestRerunTriggersWithProvenance(t *testing.T) {
	ft := newFakeTrigger(t, 0, jobSecret(t, func(j *jobdef.Job) {
		j.Spec.Parameters = append(j.Spec.Parameters, jobdef.Parameter{Name: "TICKET", Required: true},
			jobdef.Parameter{Name: "TOKEN", Secret: true})
	}))
	first, err := ft.Trigger(t.Context(), Request{Namespace: "ns", Job: "migrate", Tag: "1.4",
		Params: map[string]string{"TARGET": "v42", "TICKET": "OPS-1", "TOKEN": "s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	req, warns, err := RerunRequest(t.Context(), ft.cs, "ns", first.Run, map[string]string{"TICKET": "OPS-2"}, "")
	if err != nil || len(warns) != 0 {
		t.Fatalf("rerun request: %v, warnings %q", err, warns)
	}
	res, err := ft.Trigger(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	job, err := ft.cs.BatchV1().Jobs("ns").Get(t.Context(), res.Run, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ann := job.Annotations
	if res.Run == first.Run || ann[AnnotationRerunOf] != first.Run || ann[AnnotationImage] != "example.com/migrate:1.4" ||
		ann[AnnotationParameters] != `{"TARGET":"v42","TICKET":"OPS-2","TOKEN":"<secret>"}` {
		t.Fatalf("rerun %s annotations %v", res.Run, ann)
	}
	// The secret parameter's value is carried, from the run's own Secret.
	sec, err := ft.cs.CoreV1().Secrets("ns").Get(t.Context(), res.Run+"-files", metav1.GetOptions{})
	if err != nil || string(sec.Data["param-TOKEN"]) != "s3cret" {
		t.Fatalf("rerun's secret parameter: %v %q", err, sec.Data["param-TOKEN"])
	}
	req, _, err = RerunRequest(t.Context(), ft.cs, "ns", first.Run, map[string]string{"NOPE": "1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ft.Trigger(t.Context(), req); !IsInput(err) || !strings.Contains(err.Error(), `unknown parameter "NOPE"`) {
		t.Fatalf("unknown override: %v", err)
	}
	if err := ft.cs.CoreV1().Secrets("ns").Delete(t.Context(), first.Run+"-files", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := RerunRequest(t.Context(), ft.cs, "ns", first.Run, nil, ""); err == nil ||
		!strings.Contains(err.Error(), "read secret parameter TOKEN of run "+first.Run+" (give --param TOKEN=VALUE)") {
		t.Fatalf("secret gone: %v", err)
	}
	if _, _, err := RerunRequest(t.Context(), ft.cs, "ns", first.Run, map[string]string{"TOKEN": "new"}, ""); err != nil {
		t.Fatalf("secret given: %v", err)
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
	if _, _, err := RerunRequest(t.Context(), cs, "ns", "gone-1", nil, ""); !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), "job gone of run gone-1") {
		t.Errorf("run of a deleted job: %v", err)
	}
}
