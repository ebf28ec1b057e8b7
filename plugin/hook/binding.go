package hook

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// A hook is bound to one job definition by UID, not by name: its Secret is
// created with an ownerReference to the job's Secret (since the first
// version of hooks), and the trigger (run.Request.JobUID) compares that UID
// with the definition's.
// After `kubectl shipjob delete` and a new `create` of the same name the
// garbage collector deletes old hooks, but until it has (or when the job
// Secret was deleted with --cascade=orphan, or both were restored from a
// backup) the old token would otherwise run the new job.
//
// A hook Secret without that ownerReference (removed by an orphaning
// delete, or edited by hand) fails closed: its token is not found. Every
// hook kubectl-shipjob ever created had one, so no legitimate hook is
// affected; create a new hook for the job.

// OwnerJobUID is the UID of the job Secret that owns hook Secret s, or ""
// when it has no such owner.
func OwnerJobUID(s *corev1.Secret) types.UID {
	job := s.Labels[jobdef.LabelJob]
	for _, o := range s.OwnerReferences {
		if o.APIVersion == "v1" && o.Kind == "Secret" && o.Name == jobdef.SecretName(job) {
			return o.UID
		}
	}
	return ""
}
