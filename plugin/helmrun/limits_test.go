package helmrun

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// recordSize triggers def on a fake cluster and measures what Helm stored
// (its real encoding: JSON, gzip, base64) and the Job's annotations.
func recordSize(t *testing.T, mutate func(*jobdef.Job)) (record, annotations int) {
	t.Helper()
	ft := newFakeTrigger(t, 0, jobSecret(t, mutate))
	res, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", TriggeredBy: "user:someone@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	list, err := ft.cs.CoreV1().Secrets("ns").List(t.Context(), metav1.ListOptions{LabelSelector: "owner=helm"})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("release records: %v, %v", list, err)
	}
	for _, v := range list.Items[0].Data {
		record += len(v)
	}
	job, err := ft.cs.BatchV1().Jobs("ns").Get(t.Context(), res.Run, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range job.Annotations {
		annotations += len(k) + len(v)
	}
	return record, annotations
}

func randomText(n int) string {
	b := make([]byte, n*3/4+3)
	_, _ = rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)[:n]
}

// TestRunSizeReserves measures what a run takes besides the definition's
// values, which jobdef's limits reserve, and that a definition at the
// limit of its values still fits (values that do not compress: random).
func TestRunSizeReserves(t *testing.T) {
	record, ann := recordSize(t, nil)
	t.Logf("a small definition: release record %d bytes, Job annotations %d bytes", record, ann)
	if record > jobdef.RecordReserve/4 || ann > jobdef.AnnotationReserve/4 {
		t.Errorf("reserves too small for what a run takes besides its values: record %d (reserve %d), annotations %d (reserve %d)",
			record, jobdef.RecordReserve, ann, jobdef.AnnotationReserve)
	}
	// As large as Validate allows: env and parameters of random text.
	big := func(j *jobdef.Job) {
		j.Spec.Parameters = []jobdef.Parameter{{Name: "P", Default: randomText(100 << 10)}}
		for i := 0; ; i++ {
			j.Spec.Env = append(j.Spec.Env, jobdef.EnvVar{Name: fmt.Sprintf("E%d", i), Value: randomText(16 << 10)})
			if j.Validate() != nil {
				j.Spec.Env = j.Spec.Env[:len(j.Spec.Env)-1]
				return
			}
		}
	}
	record, ann = recordSize(t, big)
	t.Logf("a definition at the limit: release record %d bytes (limit %d), Job annotations %d bytes (limit %d)",
		record, jobdef.MaxRecordBytes, ann, jobdef.MaxAnnotationBytes)
	if record > jobdef.MaxRecordBytes || ann > jobdef.MaxAnnotationBytes {
		t.Errorf("a valid definition does not fit: record %d > %d or annotations %d > %d",
			record, jobdef.MaxRecordBytes, ann, jobdef.MaxAnnotationBytes)
	}
}
