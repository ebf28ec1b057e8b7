// Package jobdeftest holds the job definition fixture of the domain
// packages' tests: job migrate of namespace ns, and its stored Secret.
package jobdeftest

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// Namespace and Name are the fixture job's.
const (
	Namespace = "ns"
	Name      = "migrate"
)

// Job is the fixture definition: job migrate of namespace ns, image
// example.com/migrate, one parameter TARGET (default "latest"), changed by
// each of mutate in turn (nil ones are skipped).
func Job(mutate ...func(*jobdef.Job)) *jobdef.Job {
	j := jobdef.New(Namespace, Name)
	j.Spec.Image = "example.com/migrate"
	j.Spec.Parameters = []jobdef.Parameter{{Name: "TARGET", Default: "latest"}}
	for _, m := range mutate {
		if m != nil {
			m(j)
		}
	}
	return j
}

// WithFile gives the job one file, /etc/app.conf.
func WithFile(j *jobdef.Job) {
	j.Spec.Files = []jobdef.File{{Path: "/etc/app.conf", Content: "x=1"}}
}

// Secret is Job(mutate...) as stored, with the UID the API server would
// give it ("uid-" and the job's name). It is not validated: a mutation may
// make what only a hand edit could.
func Secret(t testing.TB, mutate ...func(*jobdef.Job)) *corev1.Secret {
	t.Helper()
	j := Job(mutate...)
	s, err := jobdef.ToSecret(j)
	if err != nil {
		t.Fatal(err)
	}
	s.UID = types.UID("uid-" + j.Name)
	return s
}
