package postrender

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// kubernetesObjects decodes a stream as Helm's resource builder does
// (sigs.k8s.io/yaml, then apimachinery's UnstructuredJSONScheme, which makes
// any object with an "items" field a list and fills in the kind of items
// without one) and returns the objects it would create, lists flattened.
// (Helm refuses lists in lists; they are flattened here too.)
func kubernetesObjects(t *testing.T, stream []byte) []*unstructured.Unstructured {
	t.Helper()
	docs, err := decodeKubernetes(stream)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	var objs []*unstructured.Unstructured
	var flatten func(obj runtime.Object)
	flatten = func(obj runtime.Object) {
		switch o := obj.(type) {
		case *unstructured.UnstructuredList:
			for i := range o.Items {
				flatten(&o.Items[i])
			}
		case *unstructured.Unstructured:
			if !o.IsList() {
				objs = append(objs, o)
				return
			}
			if err := o.EachListItem(func(item runtime.Object) error { flatten(item); return nil }); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, doc := range docs {
		if doc == nil {
			continue
		}
		j, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		obj, _, err := unstructured.UnstructuredJSONScheme.Decode(j, nil, nil)
		if err != nil {
			t.Fatalf("Kubernetes does not decode %s: %v", j, err)
		}
		flatten(obj)
	}
	return objs
}

// jobsWithPolicy returns the names of the batch/v1 Jobs (or CronJobs, whose
// template is checked) that Kubernetes reads from stream, and fails t for
// one without keep (Jobs) or the TTL or for another object with either.
func jobsWithPolicy(t *testing.T, stream []byte, ttlSecs int64) []string {
	t.Helper()
	var names []string
	for _, o := range kubernetesObjects(t, stream) {
		gvk := o.GroupVersionKind()
		isJob := gvk.Group == "batch" && gvk.Version == "v1" && gvk.Kind == "Job"
		isCron := gvk.Group == "batch" && gvk.Version == "v1" && gvk.Kind == "CronJob"
		ttl, hasTTL, _ := unstructured.NestedInt64(o.Object, "spec", "ttlSecondsAfterFinished")
		if isCron {
			ttl, hasTTL, _ = unstructured.NestedInt64(o.Object, "spec", "jobTemplate", "spec", "ttlSecondsAfterFinished")
		}
		keep := o.GetAnnotations()[ResourcePolicyAnnotation] == ResourcePolicyKeep
		switch {
		case isJob && (!keep || !hasTTL || ttl != ttlSecs):
			t.Errorf("Job %s: keep %v, ttl %v %d; want keep and %d\n%s", o.GetName(), keep, hasTTL, ttl, ttlSecs, stream)
		case isCron && (keep || !hasTTL || ttl != ttlSecs):
			t.Errorf("CronJob %s: keep %v, ttl %v %d; want no keep and %d", o.GetName(), keep, hasTTL, ttl, ttlSecs)
		case !isJob && !isCron && (keep || hasTTL):
			t.Errorf("%s %s changed: keep %v, ttl %v", gvk, o.GetName(), keep, hasTTL)
		}
		if isJob || isCron {
			names = append(names, o.GetName())
		}
	}
	return names
}

const listJob = `
  - apiVersion: batch/v1
    kind: Job
    metadata:
      name: %s
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: a
              image: busybox
`

func listOf(head string, names ...string) string {
	var b strings.Builder
	b.WriteString(head + "\nitems:")
	for _, n := range names {
		b.WriteString(strings.ReplaceAll(listJob, "%s", n))
	}
	return b.String()
}

// TestListsGetKeepAndTTL: the Jobs of every list Kubernetes flattens get
// keep and the TTL, whatever the list's kind (security review M3).
func TestListsGetKeepAndTTL(t *testing.T) {
	cases := map[string]struct {
		in   string
		jobs []string
	}{
		"v1 List":          {listOf("apiVersion: v1\nkind: List", "a"), []string{"a"}},
		"batch/v1 JobList": {listOf("apiVersion: batch/v1\nkind: JobList", "a", "b"), []string{"a", "b"}},
		"batch/v1 List":    {listOf("apiVersion: batch/v1\nkind: List", "a"), []string{"a"}},
		"apps/v1 List":     {listOf("apiVersion: apps/v1\nkind: List", "a"), []string{"a"}},
		"v1 ConfigMapList": {listOf("apiVersion: v1\nkind: ConfigMapList", "a"), []string{"a"}},
		"a CRD's list":     {listOf("apiVersion: example.com/v1\nkind: WidgetList\nmetadata: {}", "a"), []string{"a"}},
		"a Job with items": {listOf("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: outer", "hidden"), []string{"hidden"}},
		"nested lists": {listOf("apiVersion: batch/v1\nkind: JobList", "top") + `
  - apiVersion: v1
    kind: ConfigMapList
    items:
      - apiVersion: apps/v1
        kind: List
        items:
          - {apiVersion: batch/v1, kind: Job, metadata: {name: deep}}
`, []string{"top", "deep"}},
		"JobList item without apiVersion and kind is a Job": {`apiVersion: batch/v1
kind: JobList
items:
  - metadata: {name: inferred}
  - {kind: 5, metadata: {name: kind-not-a-string}}
  - {apiVersion: null, kind: "", metadata: {name: both-empty}}
  - {kind: ConfigMap, metadata: {name: kind-only}}
`, []string{"inferred", "kind-not-a-string", "both-empty"}},
		"Job with items: items without kind are Jobs": {"apiVersion: batch/v1\nkind: Job\nitems:\n- metadata: {name: i}\n", []string{"i"}},
		"CronJobList item without kind is a CronJob":  {"apiVersion: batch/v1\nkind: CronJobList\nitems:\n- metadata: {name: c}\n  spec: {schedule: '@daily'}\n", []string{"c"}},
		"batch/v1 List item without kind is nothing":  {"apiVersion: batch/v1\nkind: List\nitems:\n- metadata: {name: x}\n", nil},
		"a Job with null items is an empty list":      {"apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nitems: null\n", nil},
		"items through a merge key":                   {"apiVersion: v1\nkind: List\n<<: {items: [{apiVersion: batch/v1, kind: Job, metadata: {name: m}}]}\n", []string{"m"}},
	}
	ttl := time.Hour
	opts := Options{Keep: true, TTL: &ttl, CronJobs: true}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := Process([]byte(tc.in), opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := jobsWithPolicy(t, out, 3600); !slices.Equal(got, tc.jobs) {
				t.Errorf("jobs %v, want %v\n%s", got, tc.jobs, out)
			}
			checkSemantics(t, []byte(tc.in), out, opts)
			if len(tc.jobs) == 0 && string(out) != tc.in {
				t.Errorf("input without Jobs changed:\n%s", out)
			}
		})
	}
}
