package helmrun

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/kubectl/pkg/validation"
)

func testFactory(t *testing.T) *helmFactory {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	server, ns := "https://127.0.0.1:1", "ns1"
	flags.APIServer, flags.Namespace = &server, &ns
	return &helmFactory{getter: flags}
}

func TestHelmKubeBuild(t *testing.T) {
	kc := newHelmKube(testFactory(t))
	// Build maps kinds to resources through discovery: against an
	// unreachable server it fails with that request's error (it is Helm's
	// Build, not a refusal of ours).
	_, err := kc.Build(strings.NewReader("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"), false)
	if err == nil || errors.Is(err, errNoWait) {
		t.Fatalf("Build against an unreachable server: err = %v", err)
	}
}

func TestHelmKubeRefusesWaits(t *testing.T) {
	kc := newHelmKube(testFactory(t))
	for name, err := range map[string]error{
		"Wait":            kc.Wait(nil, 0),
		"WaitWithJobs":    kc.WaitWithJobs(nil, 0),
		"WatchUntilReady": kc.WatchUntilReady(nil, 0),
	} {
		if !errors.Is(err, errNoWait) {
			t.Errorf("%s: err = %v, want errNoWait", name, err)
		}
	}
	if _, err := kc.WaitAndGetCompletedPodPhase("p", 0); !errors.Is(err, errNoWait) {
		t.Errorf("WaitAndGetCompletedPodPhase: err = %v", err)
	}
	if _, err := kc.Update(nil, nil, false); err == nil {
		t.Error("Update of helmKube succeeded; only runKube creates")
	}
	if err := kc.IsReachable(); err != nil {
		t.Errorf("IsReachable: %v", err)
	}
}

func TestHelmFactory(t *testing.T) {
	f := testFactory(t)
	if s, err := f.Validator(metav1.FieldValidationIgnore); err != nil {
		t.Fatalf("Validator(Ignore): %v", err)
	} else if _, ok := s.(validation.NullSchema); !ok {
		t.Errorf("Validator(Ignore) = %T, want NullSchema", s)
	}
	if _, err := f.Validator(metav1.FieldValidationStrict); err == nil {
		t.Error("Validator(Strict) succeeded; our releases disable OpenAPI validation")
	}
	cs1, err := f.KubernetesClientSet()
	if err != nil {
		t.Fatal(err)
	}
	cs2, _ := f.KubernetesClientSet()
	if cs1 != cs2 {
		t.Error("KubernetesClientSet builds a new clientset per call")
	}
	if ns, _, err := f.ToRawKubeConfigLoader().Namespace(); err != nil || ns != "ns1" {
		t.Errorf("namespace = %q, %v", ns, err)
	}
	if _, err := f.DynamicClient(); err != nil {
		t.Errorf("DynamicClient: %v", err)
	}
	if f.NewBuilder() == nil {
		t.Error("NewBuilder = nil")
	}
}
