package run

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// TestVerify (review N7, N12): a Job labelled as a run is one only if it
// was made for the definition as it exists (its UID), by its Helm release,
// with a pod template the run chart can produce from it.
func TestVerify(t *testing.T) {
	def, err := jobdef.FromSecret(defSecret(t, "m"))
	if err != nil {
		t.Fatal(err)
	}
	img := jobdef.ResolvedImage{Image: "example.com/m:1"}
	pinned := def.DeepCopy()
	pinned.Spec.Tag, pinned.Spec.Digest = "", "sha256:"+strings.Repeat("a", 64)
	for name, tc := range map[string]struct {
		def  *jobdef.Job
		mut  func(*batchv1.Job)
		want string // "" = a run
	}{
		"a run": {},
		"as the API server defaults it": {mut: func(j *batchv1.Job) {
			j.Spec.Template.Spec.SecurityContext = &corev1.PodSecurityContext{}
		}},
		"an empty-looking but set security context": {mut: func(j *batchv1.Job) {
			j.Spec.Template.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: new(bool)}
		}, want: "its pod template sets a pod security context or host users"},
		"another tag":      {mut: func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "example.com/m:2" }},
		"no job-uid":       {mut: func(j *batchv1.Job) { delete(j.Annotations, AnnotationJobUID) }, want: `annotation shipjob.dev/job-uid="" is not the job's UID`},
		"other job-uid":    {mut: func(j *batchv1.Job) { j.Annotations[AnnotationJobUID] = "x" }, want: `annotation shipjob.dev/job-uid="x" is not the job's UID`},
		"no release":       {mut: func(j *batchv1.Job) { delete(j.Annotations, AnnotationReleaseName) }, want: "not made by Helm release ns/m"},
		"other release ns": {mut: func(j *batchv1.Job) { j.Annotations[AnnotationReleaseNamespace] = "x" }, want: "not made by Helm release ns/m"},
		"other job label":  {mut: func(j *batchv1.Job) { j.Labels[LabelJob] = "x" }, want: `labels shipjob.dev/kind="run", shipjob.dev/job="x"`},
		"privileged": {mut: func(j *batchv1.Job) {
			j.Spec.Template.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: new(bool)}
		}, want: "its pod template sets a container security context"},
		"host path": {mut: func(j *batchv1.Job) {
			j.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "files", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
		}, want: `its pod template volume "files" is not the run's files Secret`},
		"service account": {mut: func(j *batchv1.Job) { j.Spec.Template.Spec.ServiceAccountName = "admin" },
			want: `its pod template service account "admin", want ""`},
		"other repository": {mut: func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "evil.example/m:1" },
			want: `image "evil.example/m:1" is not of the job's repository example.com/m`},
		"tag of a pinned job": {def: pinned, want: `image "example.com/m:1" has a tag, but the job is pinned to a digest`},
	} {
		t.Run(name, func(t *testing.T) {
			d := def
			if tc.def != nil {
				d = tc.def
			}
			job := runJob("m", "m-1", 0)
			if tc.mut != nil {
				tc.mut(job)
			}
			err := Verify(d, img, job)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Verify = %v, want a run", err)
			case tc.want != "" && (!IsNotARun(err) || !strings.Contains(err.Error(), "Job m-1 in namespace ns is not a run of job m: "+tc.want+"; ")):
				t.Fatalf("Verify = %v\nwant …%s…", err, tc.want)
			}
		})
	}
}

// TestPlantedRunsAreNotActedOn (review N12): debug, logs and rerun refuse
// a Job planted with run labels (and a job-uid copied from a real run),
// and Resolve never picks one as a job's newest run.
func TestPlantedRunsAreNotActedOn(t *testing.T) {
	planted := runJob("m", "m-planted", time.Hour, func(j *batchv1.Job) {
		j.Spec.Template.Spec.HostPID = true
	})
	cs := fake.NewClientset(defSecret(t, "m"), runJob("m", "m-1", 0), planted)
	if got, err := Resolve(t.Context(), cs, "ns", "m"); err != nil || got != "m-1" {
		t.Errorf("Resolve(m) = %q, %v; want m-1", got, err)
	}
	want := "Job m-planted in namespace ns is not a run of job m: its pod template uses a host namespace"
	if _, err := CreateDebugPod(t.Context(), cs, "ns", "m-planted", DebugOptions{}); !IsNotARun(err) || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("debug: %v", err)
	}
	if err := Logs(t.Context(), cs, "ns", "m-planted", LogOptions{}, &strings.Builder{}); !IsNotARun(err) {
		t.Errorf("logs: %v", err)
	}
	if _, _, err := RerunRequest(t.Context(), cs, "ns", "m-planted", nil, ""); !IsNotARun(err) {
		t.Errorf("rerun: %v", err)
	}
	for _, a := range cs.Actions() {
		if a.GetVerb() == "create" {
			t.Errorf("created: %v", a)
		}
	}
}
