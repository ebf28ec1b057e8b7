package runend

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/notify"
)

// TestRunEndSeriesGoWithTheirDefinition (review N7): a job's metric series
// are dropped when its definition becomes invalid or is deleted.
func TestRunEndSeriesGoWithTheirDefinition(t *testing.T) {
	for name, change := range map[string]func(*setup){
		"deleted": func(s *setup) {
			_ = s.cs.CoreV1().Secrets("ns").Delete(t.Context(), jobdef.SecretName("migrate"), metav1.DeleteOptions{})
		},
		"invalid": func(s *setup) {
			sec, _ := s.cs.CoreV1().Secrets("ns").Get(t.Context(), jobdef.SecretName("migrate"), metav1.GetOptions{})
			sec.Labels[jobdef.LabelJob] = "other"
			_, _ = s.cs.CoreV1().Secrets("ns").Update(t.Context(), sec, metav1.UpdateOptions{})
		},
	} {
		t.Run(name, func(t *testing.T) {
			j, _ := endedRun("migrate-1", true, "def-uid")
			s := newSetup(t, nil, notify.Options{}, j)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- s.p.Run(ctx, make(chan struct{})) }()
			defer func() { cancel(); <-done }()
			series := func() int {
				reg := prometheus.NewPedanticRegistry()
				reg.MustRegister(s.metrics.Collectors()...)
				mfs, _ := reg.Gather()
				n := 0
				for _, mf := range mfs {
					for _, m := range mf.GetMetric() {
						for _, l := range m.GetLabel() {
							if l.GetName() == "job" && l.GetValue() == "migrate" {
								n++
							}
						}
					}
				}
				return n
			}
			deadline := time.Now().Add(10 * time.Second)
			for series() == 0 {
				if time.Now().After(deadline) {
					t.Fatal("no series for the run's end")
				}
				time.Sleep(20 * time.Millisecond)
			}
			change(s)
			for series() != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%d series of job migrate left after its definition was %s", series(), name)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
