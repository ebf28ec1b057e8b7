package jobdef

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestSecretRoundTrip(t *testing.T) {
	j := validJob()
	fullSpec(j)
	sec, err := ToSecret(j)
	if err != nil {
		t.Fatal(err)
	}
	if sec.Name != "shipjob-job-migrate" || sec.Type != SecretType || sec.Annotations[AnnotationFormat] != FormatVersion {
		t.Fatalf("secret identity: %s %s %v", sec.Name, sec.Type, sec.Annotations)
	}
	for k, v := range map[string]string{LabelManagedBy: ManagedBy, LabelKind: KindJob, LabelJob: "migrate", "team": "data"} {
		if sec.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, sec.Labels[k], v)
		}
	}
	back, err := FromSecret(sec)
	if err != nil {
		t.Fatal(err)
	}
	if !apiequality.Semantic.DeepEqual(back.Spec, j.Spec) || !apiequality.Semantic.DeepEqual(back.Labels, j.Labels) || back.Name != j.Name {
		t.Fatalf("round trip changed the job:\n got %+v\nwant %+v", back, j)
	}
}

func TestFromSecretRejects(t *testing.T) {
	sec, _ := ToSecret(validJob())
	other := sec.DeepCopy()
	other.Type = corev1.SecretTypeOpaque
	newer := sec.DeepCopy()
	newer.Annotations[AnnotationFormat] = "2"
	broken := sec.DeepCopy()
	broken.Data[DataKey] = []byte("{")
	for name, tc := range map[string]struct {
		s    *corev1.Secret
		want string
	}{"not ours": {other, "is not a kubectl-shipjob job"}, "newer format": {newer, "upgrade the plugin"}, "broken": {broken, "cannot decode the definition"}} {
		if _, err := FromSecret(tc.s); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want %q", name, err, tc.want)
		}
	}
}

func TestToSecretTooLarge(t *testing.T) {
	j := validJob()
	j.Spec.Files = []File{{Path: "/a", Content: strings.Repeat("x", MaxSecretBytes)}}
	if _, err := ToSecret(j); err == nil || !strings.Contains(err.Error(), "too large to store") {
		t.Fatalf("error = %v", err)
	}
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	s := &Store{Client: client, Namespace: "ns"}
	for _, name := range []string{"b", "a"} {
		j := validJob()
		j.Name = name
		if name == "a" {
			j.Labels = map[string]string{"team": "data"}
		}
		if _, err := s.Create(ctx, j, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Create(ctx, validJob().withName("a"), WriteOptions{}); !apierrors.IsAlreadyExists(err) || !strings.Contains(err.Error(), `jobs.shipjob.dev "a" already exists`) {
		t.Fatalf("create twice: %v", err)
	}
	if _, err := s.Get(ctx, "zz"); !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), `jobs.shipjob.dev "zz" not found`) {
		t.Fatalf("get missing: %v", err)
	}
	all, err := s.List(ctx, "")
	if err != nil || len(all) != 2 || all[0].Name != "a" || all[1].Name != "b" {
		t.Fatalf("list = %v, %v; want a, b", names(all), err)
	}
	sel, err := s.List(ctx, "team=data")
	if err != nil || len(sel) != 1 || sel[0].Name != "a" {
		t.Fatalf("list -l team=data = %v, %v", names(sel), err)
	}
	if _, err := s.List(ctx, "a=("); err == nil {
		t.Fatal("bad selector accepted")
	}

	got, _ := s.Get(ctx, "a")
	got.ResourceVersion = "1" // the fake tracker does not set one
	if _, err := s.Update(ctx, validJob().withName("a"), WriteOptions{}); err == nil {
		t.Fatal("update without resourceVersion accepted")
	}
	client.PrependReactor("update", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewConflict(corev1.Resource("secrets"), "shipjob-job-a", errors.New("changed"))
	})
	if _, err := s.Update(ctx, got, WriteOptions{}); !errors.Is(err, ErrConflict) {
		t.Fatalf("update on conflict = %v, want ErrConflict", err)
	}
	if err := s.Delete(ctx, "a", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "a", WriteOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("delete missing: %v", err)
	}
}

func TestRegistries(t *testing.T) {
	ctx := context.Background()
	sec, err := RegistrySecret("ns", "acme", "ghcr.io/acme", "bot", "tok")
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{Client: fake.NewClientset(sec), Namespace: "ns"}
	if _, err := s.GetRegistry(ctx, "nope"); !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), `registries.shipjob.dev "nope" not found`) {
		t.Fatalf("missing registry: %v", err)
	}
	regs, err := s.ListRegistries(ctx)
	if err != nil || len(regs) != 1 || regs[0].Server != "ghcr.io/acme" || regs[0].Username != "bot" {
		t.Fatalf("registries = %+v, %v", regs, err)
	}
	j := validJob()
	j.Spec.Registry, j.Spec.Image = "acme", "migrate"
	img, err := s.ResolveImage(ctx, j, "")
	if err != nil || img.Image != "ghcr.io/acme/migrate:1.4" || len(img.PullSecrets) != 1 || img.PullSecrets[0] != "shipjob-registry-acme" {
		t.Fatalf("resolve = %+v, %v", img, err)
	}
	for _, bad := range [][2]string{{"Acme", "ghcr.io"}, {"acme", "https://ghcr.io"}, {"acme", ""}} {
		if err := ValidateRegistry(bad[0], bad[1]); err == nil {
			t.Errorf("ValidateRegistry(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func (j *Job) withName(name string) *Job {
	j.Name = name
	return j
}

func names(jobs []Job) []string {
	out := make([]string, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, j.Name)
	}
	return out
}

// TestStoredDefinitionsAreInput: a hand-edited Secret is decoded strictly
// (unknown or wrongly cased fields are not dropped silently), GetValid
// refuses what create would, and List still lists it, marked invalid.
func TestStoredDefinitionsAreInput(t *testing.T) {
	good, _ := ToSecret(validJob())
	unknown := good.DeepCopy()
	unknown.Name, unknown.Labels[LabelJob] = SecretName("unknown"), "unknown"
	unknown.Data[DataKey] = []byte(strings.Replace(string(good.Data[DataKey]), `"spec":{`, `"spec":{"hostPID":true,`, 1))
	cased := good.DeepCopy()
	cased.Name, cased.Labels[LabelJob] = SecretName("cased"), "cased"
	cased.Data[DataKey] = []byte(strings.Replace(string(good.Data[DataKey]), `"image"`, `"IMAGE"`, 1))
	injected := validJob()
	injected.Name = "injected"
	injected.Spec.ServiceAccountName = "default\n  hostPID: true"
	inj, _ := ToSecret(injected)
	cs := fake.NewClientset(good, unknown, cased, inj)
	store := &Store{Client: cs, Namespace: "ns"}
	for name, want := range map[string]string{
		"unknown":  `job unknown in namespace ns is invalid: job.json: cannot decode the definition in secret shipjob-job-unknown: unknown field "spec.hostPID"`,
		"cased":    `job cased in namespace ns is invalid: job.json: cannot decode`,
		"injected": `job injected in namespace ns is invalid: spec.serviceAccountName: invalid service account "default\n  hostPID: true"`,
	} {
		_, err := store.GetValid(context.Background(), name)
		if !IsInvalid(err) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("GetValid(%s) = %v, want %q…", name, err, want)
		}
	}
	if _, err := store.GetValid(context.Background(), "migrate"); err != nil {
		t.Errorf("GetValid of a good job: %v", err)
	}
	jobs, err := store.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	invalid := map[string]bool{}
	for _, j := range jobs {
		invalid[j.Name] = j.Status != nil && j.Status.Invalid != ""
	}
	if len(jobs) != 4 || !invalid["unknown"] || !invalid["cased"] || !invalid["injected"] || invalid["migrate"] {
		t.Errorf("List marks invalid: %v", invalid)
	}
}

// TestJobNameIsTheSecretName (review N13): a job's name is its Secret's
// name; a shipjob.dev/job label that disagrees makes the definition
// invalid (one line), so Get of one job never returns another.
func TestJobNameIsTheSecretName(t *testing.T) {
	good, _ := ToSecret(validJob())
	relabelled := good.DeepCopy()
	relabelled.Name, relabelled.Labels[LabelJob] = SecretName("a"), "migrate"
	unlabelled := good.DeepCopy()
	unlabelled.Name = SecretName("b")
	delete(unlabelled.Labels, LabelJob)
	store := &Store{Client: fake.NewClientset(relabelled, unlabelled), Namespace: "ns"}
	for name, want := range map[string]string{
		"a": `job a in namespace ns is invalid: metadata.labels[shipjob.dev/job]: label shipjob.dev/job="migrate" of secret shipjob-job-a differs from the job's name "a"; fix it with 'kubectl shipjob edit a'`,
		"b": `job b in namespace ns is invalid: metadata.labels[shipjob.dev/job]: label shipjob.dev/job="" of secret shipjob-job-b differs from the job's name "b"; fix it with 'kubectl shipjob edit b'`,
	} {
		j, err := store.Get(context.Background(), name)
		if !IsInvalid(err) || err.Error() != want {
			t.Errorf("Get(%s) = %v, %v\nwant %s", name, j, err, want)
		}
	}
	jobs, err := store.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].Name != "a" || jobs[0].Status == nil || jobs[0].Status.Invalid == "" || jobs[1].Name != "b" {
		t.Errorf("List = %+v, want a and b, invalid", jobs)
	}
}

// TestListSomeDecodesWhatIsPicked: pick sees every job's name in List's
// order and only the jobs it picks are decoded, in its order: a broken
// definition not picked is no cost and no mark; one picked is listed
// invalid. A pick out of range is an error.
func TestListSomeDecodesWhatIsPicked(t *testing.T) {
	var objs []runtime.Object
	for _, n := range []string{"d", "b", "a", "c"} {
		sec, err := ToSecret(validJob().withName(n))
		if err != nil {
			t.Fatal(err)
		}
		sec.Namespace = "ns"
		if n == "b" || n == "d" {
			sec.Data[DataKey] = []byte("{")
		}
		objs = append(objs, sec)
	}
	s := &Store{Client: fake.NewClientset(objs...), Namespace: "ns"}
	var seen []string
	got, err := s.ListSome(context.Background(), "", func(names []string) []int {
		seen = names
		return []int{2, 0}
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, ",") != "a,b,c,d" || strings.Join(names(got), ",") != "c,a" {
		t.Fatalf("pick saw %v, listed %v; want a,b,c,d and c,a", seen, names(got))
	}
	for _, j := range got {
		if j.Status != nil {
			t.Errorf("job %s marked %v", j.Name, j.Status)
		}
	}
	got, err = s.ListSome(context.Background(), "", func([]string) []int { return []int{1} })
	if err != nil || len(got) != 1 || got[0].Status == nil || !strings.Contains(got[0].Status.Invalid, "cannot decode") {
		t.Errorf("picked broken job: %+v, %v", got, err)
	}
	if _, err := s.ListSome(context.Background(), "", func([]string) []int { return []int{4} }); err == nil {
		t.Error("a pick out of range is no error")
	}
}
