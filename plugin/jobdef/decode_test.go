package jobdef

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const docA = `apiVersion: shipjob.dev/v1alpha1
kind: Job
metadata:
  name: a
  namespace: ns
  uid: 0b5c
  resourceVersion: "42"
  creationTimestamp: "2026-01-01T00:00:00Z"
  labels: {team: data}
spec:
  image: busybox
  tag: "1"
  resources: {memory: 128Mi, cpu: 100m}
  timeout: 15m
  retention: none
  retries: 0
status:
  lastRun: a-1
`

func TestDecode(t *testing.T) {
	list := `{"apiVersion":"shipjob.dev/v1alpha1","kind":"JobList","items":[` +
		`{"apiVersion":"shipjob.dev/v1alpha1","kind":"Job","metadata":{"name":"c"},"spec":{"image":"x","resources":{"memory":"1","cpu":"1"},"timeout":"1m","retention":"1h","retries":0}}]}`
	jobs, err := Decode(strings.NewReader("# leading comment\n---\n" + docA + "---\n" + list + "\n---\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := names(jobs); strings.Join(got, ",") != "a,c" {
		t.Fatalf("names = %v", got)
	}
	a := jobs[0]
	if a.ResourceVersion != "" || a.UID != "" || !a.CreationTimestamp.IsZero() || a.Status != nil {
		t.Errorf("server fields kept: %+v", a.ObjectMeta)
	}
	if a.Namespace != "ns" || a.Labels["team"] != "data" || a.Spec.Tag != "1" || a.Spec.Retention != "none" {
		t.Errorf("decoded %+v", a)
	}
}

func TestDecodeRejects(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"unknown field":     {strings.Replace(docA, "  retries: 0", "  retries: 0\n  foo: 1", 1), `unknown field "spec.foo"`},
		"wrong case":        {strings.Replace(docA, "  image:", "  Image:", 1), `unknown field "spec.Image"`},
		"duplicate key":     {strings.Replace(docA, "  retries: 0", "  retries: 0\n  retries: 1", 1), "invalid YAML"},
		"wrong kind":        {strings.Replace(docA, "kind: Job", "kind: Deployment", 1), `unsupported kind "Deployment"`},
		"wrong apiVersion":  {strings.Replace(docA, "shipjob.dev/v1alpha1", "batch/v1", 1), `unsupported apiVersion "batch/v1"`},
		"no kind":           {strings.Replace(docA, "kind: Job\n", "", 1), "apiVersion and kind are required"},
		"annotations":       {strings.Replace(docA, "  labels:", "  annotations: {a: b}\n  labels:", 1), "metadata.annotations are not supported"},
		"wrong type":        {strings.Replace(docA, "retries: 0", "retries: many", 1), "cannot unmarshal"},
		"not an object":     {"just a string\n", "not a job definition"},
		"second doc broken": {docA + "---\nkind: Job\n", "document 2: apiVersion and kind are required"},
		"list item kind":    {`{"apiVersion":"shipjob.dev/v1alpha1","kind":"JobList","items":[{"kind":"Pod","apiVersion":"v1"}]}`, "items[0]: unsupported kind"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDecodeEmpty(t *testing.T) {
	jobs, err := Decode(strings.NewReader("# nothing\n---\n"))
	if err != nil || len(jobs) != 0 {
		t.Fatalf("jobs = %v, err = %v", jobs, err)
	}
}

// TestPrintedFormRoundTrips: what `get -o yaml` prints decodes to the same
// definition.
func TestPrintedFormRoundTrips(t *testing.T) {
	j := validJob()
	fullSpec(j)
	j.ResourceVersion, j.UID = "7", "u"
	j.Status = &Status{LastRun: "migrate-1", LastRunStatus: "Succeeded"}
	data, err := yaml.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := Decode(strings.NewReader(string(data)))
	if err != nil || len(jobs) != 1 {
		t.Fatalf("decode: %v %v\n%s", jobs, err, data)
	}
	if !jobs[0].SameDefinition(j) {
		t.Fatalf("round trip changed the definition:\n%s", data)
	}
}
