package run

import (
	"context"
	"errors"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// Helm's ownership annotations, which the trigger's release puts on every
// run's Job.
const (
	AnnotationReleaseName      = "meta.helm.sh/release-name"
	AnnotationReleaseNamespace = "meta.helm.sh/release-namespace"
)

// NotARunError says a Job labelled as a run is not a run of its job as
// that job exists now (review N7, N12): anyone who may create Jobs can
// label one as a run, so nothing is done for it (no debug copy, no logs,
// no rerun, no status to a hook, no notification, Event or metric).
type NotARunError struct {
	Namespace, Run, Job string
	Err                 error
}

func (e *NotARunError) Error() string {
	return fmt.Sprintf("Job %s in namespace %s is not a run of job %s: %v; kubectl-shipjob does not act on it", e.Run, e.Namespace, e.Job, e.Err)
}

func (e *NotARunError) Unwrap() error { return e.Err }

// IsNotARun reports whether err is a *NotARunError.
func IsNotARun(err error) bool {
	var ne *NotARunError
	return errors.As(err, &ne)
}

// Verify checks that job is a run of def as def exists now: labelled as a
// run of def, triggered for this very definition (its UID), made by def's
// Helm release in def's namespace, and with a pod template the run chart
// can produce from def (CheckJob: service account, pull Secrets, envFrom
// Secrets, the run's own Secrets, nothing privileged) with def's image
// repository, tagged as def allows. img is def's image resolved without a
// per-run tag (jobdef.Store.ResolveImage(ctx, def, "")).
func Verify(def *jobdef.Job, img jobdef.ResolvedImage, job *batchv1.Job) error {
	return verify(def, img, job, false)
}

// verify is Verify; anyImage skips the image check (a rerun renders the
// image from the definition, and carries a tag over only as it allows).
func verify(def *jobdef.Job, img jobdef.ResolvedImage, job *batchv1.Job, anyImage bool) error {
	fail := func(format string, args ...any) error {
		return &NotARunError{Namespace: job.Namespace, Run: job.Name, Job: def.Name, Err: fmt.Errorf(format, args...)}
	}
	switch {
	case job.Labels[LabelKind] != KindRun || job.Labels[LabelJob] != def.Name:
		return fail("labels %s=%q, %s=%q", LabelKind, job.Labels[LabelKind], LabelJob, job.Labels[LabelJob])
	case job.Namespace != def.Namespace:
		return fail("namespace %s, not the job's %s", job.Namespace, def.Namespace)
	case def.UID == "" || job.Annotations[AnnotationJobUID] != string(def.UID):
		return fail("annotation %s=%q is not the job's UID", AnnotationJobUID, job.Annotations[AnnotationJobUID])
	case job.Annotations[AnnotationReleaseName] != def.Name || job.Annotations[AnnotationReleaseNamespace] != def.Namespace:
		return fail("not made by Helm release %s/%s", def.Namespace, def.Name)
	}
	image, err := runImage(def, img, job)
	if anyImage && len(job.Spec.Template.Spec.Containers) > 0 {
		image, err = job.Spec.Template.Spec.Containers[0].Image, nil
	}
	if err != nil {
		return fail("%w", err)
	}
	want := JobWant{Namespace: def.Namespace, Run: job.Name, Image: image, ServiceAccount: def.Spec.ServiceAccountName,
		PullSecrets: img.PullSecrets, EnvFromSecrets: def.Spec.EnvFromSecrets}
	runSecrets(&want, def.Name, job)
	if err := CheckJob(withoutServerDefaults(job), want); err != nil {
		return fail("its pod template %w", err)
	}
	return nil
}

// runSecrets sets the names of the Secrets that run want.Run of job may
// reference: the files Secret its volume names if that is a name a files
// Secret of the job can have (IsFilesSecretName), and its own Secret of
// secret parameter values; for a run made before files were shared
// (its volume or env names LegacyRunSecretName), that one for both.
func runSecrets(want *JobWant, jobName string, job *batchv1.Job) {
	legacy := LegacyRunSecretName(want.Run)
	want.ParamsSecret = ParamsSecretName(want.Run)
	for _, v := range job.Spec.Template.Spec.Volumes {
		if v.Secret != nil && IsFilesSecretName(jobName, want.Run, v.Secret.SecretName) {
			want.FilesSecret = v.Secret.SecretName
		}
	}
	for _, c := range job.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if f := e.ValueFrom; f != nil && f.SecretKeyRef != nil && f.SecretKeyRef.Name == legacy {
				want.ParamsSecret = legacy
			}
		}
	}
	if want.FilesSecret == legacy {
		want.ParamsSecret = legacy
	}
}

// runImage returns the image job's container may have as a run of def: the
// image of its single container if it is of def's repository and tagged as
// def allows (any tag unless def is pinned to a digest without
// allowTagOverride; any digest of the repository, as a rerun of a run made
// before the digest changed is pinned to the digest def has now).
func runImage(def *jobdef.Job, img jobdef.ResolvedImage, job *batchv1.Job) (string, error) {
	cs := job.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		return "", fmt.Errorf("%d containers, want one", len(cs))
	}
	wantRepo, _, _, err := jobdef.SplitImage(img.Image)
	if err != nil {
		return "", err
	}
	repo, tag, digest, err := jobdef.SplitImage(cs[0].Image)
	switch {
	case err != nil:
		return "", err
	case repo != wantRepo:
		return "", fmt.Errorf("image %q is not of the job's repository %s", cs[0].Image, wantRepo)
	case digest != "" && tag != "":
		return "", fmt.Errorf("image %q has both a tag and a digest", cs[0].Image)
	case tag != "" && def.Spec.Digest != "" && !def.Spec.AllowTagOverride:
		return "", fmt.Errorf("image %q has a tag, but the job is pinned to a digest", cs[0].Image)
	}
	return cs[0].Image, nil
}

// VerifiedRun reads run's Job and its job's definition, and checks (Verify)
// that the Job is a run of that job as it exists now. Errors: NotFound (no
// such run), *NotARunError (a Job labelled as a run that is not one: also
// when its job does not exist), the definition's errors
// (*jobdef.InvalidError).
func VerifiedRun(ctx context.Context, client kubernetes.Interface, ns, run string) (*batchv1.Job, *jobdef.Job, error) {
	return verifiedRun(ctx, client, ns, run, false)
}

func verifiedRun(ctx context.Context, client kubernetes.Interface, ns, run string, anyImage bool) (*batchv1.Job, *jobdef.Job, error) {
	job, err := getRunJob(ctx, client, ns, run)
	if err != nil {
		return nil, nil, err
	}
	def, err := verifyJob(ctx, &jobdef.Store{Client: client, Namespace: ns}, job, anyImage)
	if err != nil {
		return nil, nil, err
	}
	return job, def, nil
}

// VerifyJob reads the definition of the job that job (labelled as a run)
// names and checks (Verify) that job is a run of it, returning it. Errors:
// *NotARunError (also when that job does not exist), the definition's
// errors (*jobdef.InvalidError), API errors.
func VerifyJob(ctx context.Context, client kubernetes.Interface, job *batchv1.Job) (*jobdef.Job, error) {
	return verifyJob(ctx, &jobdef.Store{Client: client, Namespace: job.Namespace}, job, false)
}

// VerifyJobIn is VerifyJob reading the definition through store (of job's
// namespace), whose cache may answer (the run-end leader's).
func VerifyJobIn(ctx context.Context, store *jobdef.Store, job *batchv1.Job) (*jobdef.Job, error) {
	return verifyJob(ctx, store, job, false)
}

func verifyJob(ctx context.Context, store *jobdef.Store, job *batchv1.Job, anyImage bool) (*jobdef.Job, error) {
	def, img, err := verifiable(ctx, store, job.Labels[LabelJob])
	if apierrors.IsNotFound(err) {
		return nil, &NotARunError{Namespace: job.Namespace, Run: job.Name, Job: job.Labels[LabelJob], Err: errors.New("that job does not exist")}
	}
	if err != nil {
		return nil, err
	}
	if err := verify(def, img, job, anyImage); err != nil {
		return nil, err
	}
	return def, nil
}

// verifiable reads job name's definition (valid) and its image as Verify
// needs them.
func verifiable(ctx context.Context, store *jobdef.Store, name string) (*jobdef.Job, jobdef.ResolvedImage, error) {
	if jobdef.ValidateName(name) != nil {
		return nil, jobdef.ResolvedImage{}, apierrors.NewNotFound(jobdef.GroupResource, name)
	}
	def, err := store.GetValid(ctx, name)
	if err != nil {
		return nil, jobdef.ResolvedImage{}, err
	}
	img, err := store.ResolveImage(ctx, def, "")
	if err != nil {
		return nil, jobdef.ResolvedImage{}, fmt.Errorf("resolve the image of job %s: %w", name, err)
	}
	return def, img, nil
}

// GetVerified is Get of a run that passes VerifiedRun: a Job planted with
// run labels has no status (*NotARunError).
func GetVerified(ctx context.Context, client kubernetes.Interface, ns, run string) (Status, error) {
	job, _, err := VerifiedRun(ctx, client, ns, run)
	if err != nil {
		return Status{}, err
	}
	// A run of many tasks: its status comes from its Job, with a bounded
	// pod list (StatusOf), never from every task's pods.
	return StatusOf(ctx, client, job)
}

// withoutServerDefaults is job without what the API server's defaulting
// adds to every pod template (an empty pod security context, the
// deprecated serviceAccount copied from serviceAccountName), so that
// CheckJob, written for rendered manifests, judges what was asked for.
func withoutServerDefaults(job *batchv1.Job) *batchv1.Job {
	j := job.DeepCopy()
	s := &j.Spec.Template.Spec
	if s.SecurityContext != nil && equality.Semantic.DeepEqual(*s.SecurityContext, corev1.PodSecurityContext{}) {
		s.SecurityContext = nil
	}
	if s.DeprecatedServiceAccount == s.ServiceAccountName {
		s.DeprecatedServiceAccount = ""
	}
	return j
}
