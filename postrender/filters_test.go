package postrender

import (
	"testing"
	"time"
)

// Edge cases of the setters, document by document.
func TestFilterEdgeCases(t *testing.T) {
	all := Options{Keep: true, TTL: ttlOf(time.Hour), CronJobs: true}
	tests := []struct {
		name, in, want string
		opts           Options
	}{
		{"null spec", jobHead + "spec: null\n",
			jobHead + "spec:\n  ttlSecondsAfterFinished: 3600\nmetadata:\n  annotations:\n    helm.sh/resource-policy: 'keep'\n    shipjob.dev/ttl: '1h0m0s'\n", all},
		// kyaml's SetAnnotation drops an empty metadata and adds it anew.
		{"empty metadata and spec", jobHead + "metadata:\nspec:\n",
			jobHead + "spec:\n  ttlSecondsAfterFinished: 3600\nmetadata:\n  annotations:\n    helm.sh/resource-policy: 'keep'\n    shipjob.dev/ttl: '1h0m0s'\n", all},
		{"empty annotations", jobHead + "metadata:\n  name: a\n  annotations: {}\n",
			jobHead + "metadata:\n  name: a\n  annotations:\n    helm.sh/resource-policy: 'keep'\n", Options{Keep: true}},
		{"null job template", "apiVersion: batch/v1\nkind: CronJob\nspec:\n  jobTemplate: ~\n",
			"apiVersion: batch/v1\nkind: CronJob\nspec:\n  jobTemplate:\n    spec:\n      ttlSecondsAfterFinished: 3600\n    metadata:\n      annotations:\n        shipjob.dev/ttl: '1h0m0s'\n", all},
		{"string ttl is replaced by a number with Override", jobHead + "spec:\n  ttlSecondsAfterFinished: \"3600\"\n",
			jobHead + "spec:\n  ttlSecondsAfterFinished: 3600\nmetadata:\n  annotations:\n    shipjob.dev/ttl: '1h0m0s'\n", Options{TTL: ttlOf(time.Hour), Override: true}},
		{"same ttl without annotation is kept as is", jobHead + "spec:\n  ttlSecondsAfterFinished: 3600\n",
			jobHead + "spec:\n  ttlSecondsAfterFinished: 3600\n", Options{TTL: ttlOf(time.Hour)}},
		{"keep is not set on CronJobs", "apiVersion: batch/v1\nkind: CronJob\n",
			"apiVersion: batch/v1\nkind: CronJob\n", Options{Keep: true, CronJobs: true}},
		{"duplicate keys in an unchanged document pass", jobHead + "metadata: {annotations: {helm.sh/resource-policy: keep}}\nx: 1\nx: 2\n",
			jobHead + "metadata: {annotations: {helm.sh/resource-policy: keep}}\nx: 1\nx: 2\n", Options{Keep: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Process([]byte(tc.in), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
