package helmrun

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// TestDryRunMasksSecretParameters (review N10 b): a dry run's manifest,
// client or server, never holds a secret parameter's value, in clear or
// base64; the files and the other keys stay as they are.
func TestDryRunMasksSecretParameters(t *testing.T) {
	const value = "s3cr3t-dry-run-value"
	for _, mode := range []run.DryRun{run.DryRunClient, run.DryRunServer} {
		t.Run(string(mode), func(t *testing.T) {
			ft := newFakeTrigger(t, 0, jobSecret(t, func(j *jobdef.Job) {
				j.Spec.Parameters = append(j.Spec.Parameters, jobdef.Parameter{Name: "TOKEN", Secret: true, Default: value})
			}))
			res, err := ft.Trigger(t.Context(), run.Request{Namespace: "ns", Job: "migrate", DryRun: mode})
			if err != nil {
				t.Fatal(err)
			}
			m := res.Manifest
			if strings.Contains(m, value) || strings.Contains(m, base64.StdEncoding.EncodeToString([]byte(value))) {
				t.Fatalf("dry run shows the secret value:\n%s", m)
			}
			objs, err := run.ManifestObjects(m)
			if err != nil {
				t.Fatal(err)
			}
			// The job's files Secret and the run's own Secret of secret
			// parameter values.
			var files, params map[string]any
			for _, o := range objs {
				if o["kind"] != "Secret" {
					continue
				}
				meta, _ := o["metadata"].(map[string]any)
				labels, _ := meta["labels"].(map[string]any)
				switch labels[run.LabelKind] {
				case run.KindRunFiles:
					files = o
				case run.KindRunParams:
					params = o
				}
			}
			if len(objs) != 3 || files == nil || params == nil {
				t.Fatalf("want the Job, the files Secret and the params Secret, got %d objects:\n%s", len(objs), m)
			}
			sd, _ := params["stringData"].(map[string]any)
			data, _ := params["data"].(map[string]any)
			if sd["param-TOKEN"] != jobdef.SecretValue || data["param-TOKEN"] != nil {
				t.Errorf("param-TOKEN: stringData %v, data %v", sd, data)
			}
			fdata, _ := files["data"].(map[string]any)
			if fdata["file-0"] != base64.StdEncoding.EncodeToString([]byte("x=1")) {
				t.Errorf("file-0 = %v, want the file unchanged", fdata["file-0"])
			}
		})
	}
}
