package run

import (
	"maps"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

func TestParameters(t *testing.T) {
	def := jobdef.New("ns", "migrate")
	def.Spec.Parameters = []jobdef.Parameter{{Name: "TARGET", Default: "latest"}, {Name: "DB", Required: true}}
	cases := map[string]struct {
		given map[string]string
		want  map[string]string
		err   string
	}{
		"defaults":       {given: map[string]string{"DB": "x"}, want: map[string]string{"TARGET": "latest", "DB": "x"}},
		"override":       {given: map[string]string{"DB": "x", "TARGET": "v2"}, want: map[string]string{"TARGET": "v2", "DB": "x"}},
		"empty override": {given: map[string]string{"DB": "x", "TARGET": ""}, want: map[string]string{"TARGET": "", "DB": "x"}},
		"unknown":        {given: map[string]string{"DB": "x", "NOPE": "1"}, err: `unknown parameter "NOPE" for job migrate; allowed: DB, TARGET`},
		"missing":        {given: nil, err: `missing required parameter "DB" for job migrate`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := mergeParams(def, tc.given)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !maps.Equal(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	none := jobdef.New("ns", "plain")
	if _, err := mergeParams(none, map[string]string{"X": "1"}); err == nil || err.Error() != `unknown parameter "X": job plain has no parameters` {
		t.Fatalf("err = %v", err)
	}
}
