package hook

import (
	"strings"
	"testing"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// TestValidateNameRefusal: a bad hook name is a refusal of the caller's
// input about NameField, in words of no front end (no CLI flag).
func TestValidateNameRefusal(t *testing.T) {
	for _, name := range []string{"", "  ", strings.Repeat("x", MaxNameLength+1), "two\nlines"} {
		err := ValidateName(name)
		if run.Classify(err) != run.KindInvalidInput || run.FieldOf(err) != NameField || strings.Contains(err.Error(), "--") {
			t.Errorf("ValidateName(%q) = %v (%v, field %q)", name, err, run.Classify(err), run.FieldOf(err))
		}
	}
	if err := ValidateName("CI on main"); err != nil {
		t.Errorf("valid name: %v", err)
	}
}
