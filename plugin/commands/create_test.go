package commands

import (
	"testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// TestFlagHint: the definition's error names no flag (apply -f and the
// hook API have none); create and set add the one that gives the field.
func TestFlagHint(t *testing.T) {
	j := jobdef.New("ns", "x")
	j.SetDefaults()
	err := j.Validate()
	if err == nil || err.Error() != "an image is required" {
		t.Fatalf("domain error %v", err)
	}
	if got := withFlagHint(err).Error(); got != "an image is required (--image)" {
		t.Fatalf("hinted %q", got)
	}
	j.Spec.Image = "busybox"
	j.Spec.Tag = "-bad"
	if err := j.Validate(); err == nil || withFlagHint(err).Error() != err.Error() {
		t.Fatalf("an invalid (not missing) field got a hint: %v", err)
	}
}
