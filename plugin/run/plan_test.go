package run

import (
	"strings"
	"testing"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

var baseWant = JobWant{Namespace: "ns", Run: "job-0123456789", Image: "example.com/app:1",
	FilesSecret: "job-files-0123456789", ParamsSecret: "job-0123456789-params"}

const baseJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: job-0123456789
  namespace: ns
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: job
          image: example.com/app:1
          env:
            - {name: TOKEN, valueFrom: {secretKeyRef: {name: job-0123456789-params, key: param-TOKEN}}}
          volumeMounts:
            - {name: files, mountPath: /etc/a, subPath: file-0, readOnly: true}
      volumes:
        - name: files
          secret: {secretName: job-files-0123456789}
`

// TestCheckRendered: the last defence refuses whatever the run chart never
// renders, even if validation and quoting had a hole.
func TestCheckRendered(t *testing.T) {
	if err := checkManifest([]byte("---\n# Source: x\n"+baseJob), baseWant); err != nil {
		t.Fatalf("the chart's own shape refused: %v", err)
	}
	cases := map[string]struct{ old, new, want string }{
		"hostPID":     {"      restartPolicy: Never\n", "      restartPolicy: Never\n      hostPID: true\n", "host namespace"},
		"hostNetwork": {"      restartPolicy: Never\n", "      restartPolicy: Never\n      hostNetwork: true\n", "host namespace"},
		"hostPath":    {"          secret: {secretName: job-files-0123456789}\n", "          hostPath: {path: /}\n", "not the run's files Secret"},
		// The volume is the job's files Secret, env values only from the
		// run's own Secret: never the other way round.
		"volume of params": {"secretName: job-files-0123456789", "secretName: job-0123456789-params", "not the run's files Secret"},
		"env from files":   {"{name: job-0123456789-params, key: param-TOKEN}", "{name: job-files-0123456789, key: param-TOKEN}", "env TOKEN takes its value from elsewhere"},
		"privileged":       {"          image: example.com/app:1\n", "          image: example.com/app:1\n          securityContext: {privileged: true}\n", "container security context"},
		"capabilities":     {"          image: example.com/app:1\n", "          image: example.com/app:1\n          securityContext: {capabilities: {add: [SYS_ADMIN]}}\n", "container security context"},
		"pod sec context":  {"      restartPolicy: Never\n", "      restartPolicy: Never\n      securityContext: {runAsUser: 0}\n", "pod security context"},
		"other image":      {"image: example.com/app:1", "image: evil.example/x:1", `image "evil.example/x:1"`},
		"second container": {"      containers:\n", "      containers:\n        - {name: side, image: example.com/app:1}\n", "exactly one container"},
		"init container":   {"      containers:\n", "      initContainers: [{name: i, image: x}]\n      containers:\n", "exactly one container"},
		"service account":  {"      restartPolicy: Never\n", "      restartPolicy: Never\n      serviceAccountName: admin\n", `service account "admin"`},
		"other name":       {"  name: job-0123456789\n", "  name: other\n", "name ns/other"},
		"unknown field":    {"      restartPolicy: Never\n", "      restartPolicy: Never\n      bogus: 1\n", "unknown field"},
		"writable mount":   {"readOnly: true", "readOnly: false", "not a read-only file"},
		"node name":        {"      restartPolicy: Never\n", "      restartPolicy: Never\n      nodeName: n1\n", "scheduling fields"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			doc := strings.Replace(baseJob, tc.old, tc.new, 1)
			if doc == baseJob {
				t.Fatalf("case does not change the manifest")
			}
			err := checkManifest([]byte(doc), baseWant)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
	extra := baseJob + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\n"
	if err := checkManifest([]byte(extra), baseWant); err == nil || !strings.Contains(err.Error(), "renders only a batch/v1 Job") {
		t.Errorf("a second kind: %v", err)
	}
	if err := checkManifest([]byte(baseJob+"---\n"+baseJob), baseWant); err == nil || !strings.Contains(err.Error(), "rendered 2 Jobs") {
		t.Errorf("two Jobs: %v", err)
	}
}

// BenchmarkCheckRendered is what the rendered-object check adds to every
// trigger.
func BenchmarkCheckRendered(b *testing.B) {
	doc := []byte(baseJob)
	for b.Loop() {
		if err := checkManifest(doc, baseWant); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckStored is what validating a definition on read adds.
func BenchmarkCheckStored(b *testing.B) {
	j := jobdef.New("ns", "migrate")
	j.Spec.Image = "ghcr.io/acme/migrate"
	j.Spec.Parameters = []jobdef.Parameter{{Name: "TARGET", Default: "latest"}, {Name: "TICKET", Required: true}}
	j.Spec.Env = []jobdef.EnvVar{{Name: "DATABASE_HOST", Value: "db"}}
	j.Spec.Files = []jobdef.File{{Path: "/etc/migrate/config.yaml", Content: "a: 1"}}
	for b.Loop() {
		if err := j.CheckStored(); err != nil {
			b.Fatal(err)
		}
	}
}
