package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

// TestTypedAndSecretParameters: typed parameters refuse bad values in one
// line before anything is written (CLI and hook alike), get lists them,
// completion offers names and enum values, and a secret parameter's value
// is nowhere in clear but in the run's own Secret: not in the Job's
// annotations, not in its pod spec, not in runs -o json, not in the Helm
// release record.
func TestTypedAndSecretParameters(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t, false)
	const secret = "s3cr3t-value-for-e2e"
	createSimJob(t, ns, "typed", "--env", "SIM_DURATION=1s",
		"--param", "COUNT=3", "--param-type", "COUNT=integer", "--param-description", "COUNT=how many rows",
		"--param", "REGION=eu", "--param-enum", "REGION=eu,us",
		"--param", "TICKET=OPS-1", "--param-pattern", "TICKET=OPS-[0-9]+",
		"--param", "DRY=false", "--param-type", "DRY=boolean",
		"--required-param", "TOKEN", "--secret-param", "TOKEN")

	out := mustShipjob(t, "get", "typed", "-n", ns)
	for _, want := range []string{"PARAMETER", "COUNT", "integer", "how many rows", "eu, us", "/OPS-[0-9]+/", "string (secret)", "<required>"} {
		if !strings.Contains(out, want) {
			t.Errorf("get typed: no %q in\n%s", want, out)
		}
	}
	if comp := mustShipjob(t, "__complete", "run", "typed", "-n", ns, "--param", "REGION=u"); !strings.Contains(comp, "REGION=us") {
		t.Errorf("completion of an enum value: %q", comp)
	}
	if comp := mustShipjob(t, "__complete", "run", "typed", "-n", ns, "--param", "CO"); !strings.Contains(comp, "COUNT=") {
		t.Errorf("completion of a parameter name: %q", comp)
	}

	token := "--param=TOKEN=" + secret
	_, hookToken := createHook(t, ns, "typed", "ci")
	srv := startHookServer(t, "-n", ns)
	before := objectVersions(t, ns)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--param", "COUNT=ten", token}, `error: invalid value "ten" for parameter "COUNT": want an integer`},
		{[]string{"--param", "COUNT=1.5", token}, `error: invalid value "1.5" for parameter "COUNT": want an integer`},
		{[]string{"--param", "REGION=asia", token}, `error: invalid value "asia" for parameter "REGION": allowed: eu, us`},
		{[]string{"--param", "TICKET=JIRA-1", token}, `error: invalid value "JIRA-1" for parameter "TICKET": must match OPS-[0-9]+`},
		{[]string{"--param", "DRY=yes", token}, `error: invalid value "yes" for parameter "DRY": want true or false`},
		{[]string{}, `error: missing required parameter "TOKEN" for job typed`},
		{[]string{"--param", "TOKEN="}, `error: required parameter "TOKEN" for job typed needs a value`},
	} {
		res := shipjob(t, append([]string{"run", "typed", "-n", ns}, tc.args...)...)
		if res.Code != 1 || !strings.HasPrefix(res.Stderr, tc.want) || strings.Count(res.Stderr, "\n") != 1 || strings.Contains(res.Stderr, secret) {
			t.Errorf("run %v: exit %d, stderr %q, want %q", tc.args, res.Code, res.Stderr, tc.want)
		}
	}
	code, body, err := hookCall(http.MethodPost, srv.URL+"/api/v1/dh", hookToken, "application/json",
		`{"instanceEnvironmentVariables":[{"name":"REGION","value":"mars"},{"name":"TOKEN","value":"x"}]}`)
	if err != nil || code != 400 || !strings.Contains(body, `invalid value \"mars\" for parameter \"REGION\": allowed: eu, us`) {
		t.Errorf("hook with a bad enum value: %d %s (%v)", code, body, err)
	}
	if after := objectVersions(t, ns); after != before {
		t.Errorf("refused triggers changed the namespace:\n%s\n%s", before, after)
	}

	run := trigger(t, ns, "typed", token, "--param", "COUNT=7", "--wait")
	job := getJob(t, ns, run)
	for k, v := range job.Annotations {
		if strings.Contains(v, secret) {
			t.Errorf("annotation %s holds the secret: %s", k, v)
		}
	}
	if !strings.Contains(job.Annotations["shipjob.dev/parameters"], `"TOKEN":"<secret>"`) {
		t.Errorf("parameters annotation %q, want TOKEN=<secret>", job.Annotations["shipjob.dev/parameters"])
	}
	if spec := fmt.Sprint(job.Spec.Template.Spec); strings.Contains(spec, secret) {
		t.Errorf("the pod spec holds the secret")
	}
	for _, r := range listRuns(t, ns, "typed") {
		if r.Parameters["TOKEN"] != "<secret>" || r.Parameters["COUNT"] != "7" {
			t.Errorf("runs -o json parameters %v", r.Parameters)
		}
	}
	if raw := mustShipjob(t, "runs", "typed", "-n", ns, "-o", "json"); strings.Contains(raw, secret) {
		t.Errorf("runs -o json holds the secret")
	}
	cs, err := cluster.Shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	runSecret, err := cs.CoreV1().Secrets(ns).Get(ctx, run+"-params", metav1.GetOptions{})
	if err != nil || string(runSecret.Data["param-TOKEN"]) != secret || len(runSecret.OwnerReferences) != 1 {
		t.Fatalf("the run's Secret: %v, %v", runSecret, err)
	}
	records, err := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: "owner=helm,name=typed"})
	if err != nil || len(records.Items) == 0 {
		t.Fatalf("release records: %v", err)
	}
	for _, r := range records.Items {
		if strings.Contains(decodeRelease(t, r.Data["release"]), secret) {
			t.Errorf("Helm release record %s holds the secret", r.Name)
		}
	}
}

// decodeRelease undoes Helm's encoding of a release record (base64 of gzip).
func decodeRelease(t *testing.T, data []byte) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(string(data))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
