package jobdef

import (
	"testing"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDeepCopyIsIndependent(t *testing.T) {
	j := validJob()
	fullSpec(j)
	now := metav1.Now()
	j.Status = &Status{LastRun: "r", LastRunStarted: &now}
	c := j.DeepCopy()
	if !apiequality.Semantic.DeepEqual(c, j) {
		t.Fatal("copy differs")
	}
	c.Labels["team"] = "x"
	c.Spec.Env[0].Value = "changed"
	c.Spec.Files[1].BinaryContent[0] = 0
	c.Spec.Parameters[0].Default = "changed"
	c.Spec.Command[0] = "changed"
	c.Status.LastRunStarted.Time = now.Add(1)
	if j.Labels["team"] != "data" || j.Spec.Env[0].Value != "1" || j.Spec.Files[1].BinaryContent[0] != 0xff ||
		j.Spec.Parameters[0].Default != "x" || j.Spec.Command[0] != "run" || !j.Status.LastRunStarted.Equal(&now) {
		t.Fatalf("copy shares memory with the original: %+v", j)
	}
	l := NewList([]Job{*j})
	lc := l.DeepCopyObject().(*List)
	lc.Items[0].Spec.Env[0].Value = "changed"
	if l.Items[0].Spec.Env[0].Value != "1" || lc.Kind != ListKind || lc.APIVersion != APIVersion {
		t.Fatal("list copy shares memory or lost its type")
	}
	if NewList(nil).Items == nil {
		t.Fatal("empty list items must print as [] not null")
	}
}

func TestSameDefinition(t *testing.T) {
	base := validJob()
	cases := map[string]struct {
		mutate func(*Job)
		same   bool
	}{
		"identical":          {func(*Job) {}, true},
		"server fields":      {func(j *Job) { j.ResourceVersion, j.UID, j.Status = "9", "u", &Status{LastRun: "x"} }, true},
		"nil vs empty list":  {func(j *Job) { j.Spec.Env, j.Labels = []EnvVar{}, map[string]string{} }, true},
		"label":              {func(j *Job) { j.Labels = map[string]string{"a": "b"} }, false},
		"spec":               {func(j *Job) { j.Spec.Timeout = "1m" }, false},
		"name":               {func(j *Job) { j.Name = "other" }, false},
		"file content":       {func(j *Job) { j.Spec.Files = []File{{Path: "/a", Content: "x"}} }, false},
		"empty binary file":  {func(j *Job) { j.Spec.Files = []File{{Path: "/a", BinaryContent: []byte{}}} }, false},
		"param now required": {func(j *Job) { j.Spec.Parameters = []Parameter{{Name: "A", Required: true}} }, false},
	}
	for name, tc := range cases {
		o := base.DeepCopy()
		tc.mutate(o)
		if got := base.SameDefinition(o); got != tc.same {
			t.Errorf("%s: SameDefinition = %v, want %v", name, got, tc.same)
		}
	}
}
