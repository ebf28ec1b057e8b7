package jobdef

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestSigningSecretLifecycle: made once (shown once), kept by later writes,
// replaced by a rotation, owned by the job's Secret, and checked when read.
func TestSigningSecretLifecycle(t *testing.T) {
	cs := fake.NewClientset()
	store := &Store{Client: cs, Namespace: "ns"}
	j := New("ns", "migrate")
	j.Spec.Image = "img"
	j.SetDefaults()
	stored, err := store.Create(t.Context(), j, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stored.UID = "job-uid"
	if s, err := store.EnsureSigningSecret(t.Context(), stored, WriteOptions{}); s != "" || err != nil {
		t.Fatalf("without notifications: %q %v, want none made", s, err)
	}
	stored.Spec.Notifications = []Notification{{URL: "https://ci.example/hook"}}
	if s, _ := store.EnsureSigningSecret(t.Context(), stored, WriteOptions{DryRun: []string{metav1.DryRunAll}}); s != "" {
		t.Fatalf("a dry run made a secret")
	}
	first, err := store.EnsureSigningSecret(t.Context(), stored, WriteOptions{})
	if err != nil || !strings.HasPrefix(first, "whsec_") || len(first) != 6+64 {
		t.Fatalf("first: %q %v", first, err)
	}
	if again, err := store.EnsureSigningSecret(t.Context(), stored, WriteOptions{}); again != "" || err != nil {
		t.Fatalf("second write showed it again: %q %v", again, err)
	}
	got, err := store.SigningSecret(t.Context(), "migrate")
	if err != nil || string(got) != first {
		t.Fatalf("read back %q %v, want %q", got, err, first)
	}
	sec, _ := cs.CoreV1().Secrets("ns").Get(t.Context(), SigningSecretName("migrate"), metav1.GetOptions{})
	if own := sec.OwnerReferences; len(own) != 1 || own[0].Name != SecretName("migrate") || own[0].UID != "job-uid" {
		t.Errorf("owner %v, want the job's Secret (deleted with it)", own)
	}
	rotated, err := store.RotateSigningSecret(t.Context(), stored, WriteOptions{})
	if err != nil || rotated == first || !strings.HasPrefix(rotated, "whsec_") {
		t.Fatalf("rotated %q %v", rotated, err)
	}
	if got, _ := store.SigningSecret(t.Context(), "migrate"); string(got) != rotated {
		t.Fatalf("after rotation read %q", got)
	}
	// Review N9: during the grace period both sign, the new one first;
	// after it only the new one.
	keys, err := store.SigningKeys(t.Context(), "migrate")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if a := keys.Active(now); len(a) != 2 || string(a[0]) != rotated || string(a[1]) != first {
		t.Errorf("active right after the rotation: %q, want the new and the previous secret", a)
	}
	if a := keys.Active(now.Add(SigningSecretGrace - time.Minute)); len(a) != 2 {
		t.Errorf("active a minute before the grace period ends: %d secrets, want 2", len(a))
	}
	if a := keys.Active(now.Add(SigningSecretGrace + time.Minute)); len(a) != 1 || string(a[0]) != rotated {
		t.Errorf("active after the grace period: %q, want only the new secret", a)
	}
	// Edited by hand: refused, with how to fix it.
	for name, edit := range map[string]func(){
		"short":      func() { sec.Data[SigningSecretKey] = []byte("whsec_00") },
		"not hex":    func() { sec.Data[SigningSecretKey] = []byte("whsec_" + strings.Repeat("z", 64)) },
		"other type": func() { sec.Type = "Opaque" },
		"other job":  func() { sec.Labels[LabelJob] = "other" },
		"bad previous": func() {
			sec.Data[PreviousSigningSecretKey], sec.Data[PreviousUntilKey] = []byte("whsec_00"), []byte("2030-01-01T00:00:00Z")
		},
		"bad previous time": func() { sec.Data[PreviousUntilKey] = []byte("tomorrow") },
	} {
		sec, _ = cs.CoreV1().Secrets("ns").Get(t.Context(), SigningSecretName("migrate"), metav1.GetOptions{})
		edit()
		if _, err := cs.CoreV1().Secrets("ns").Update(t.Context(), sec, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.SigningSecret(t.Context(), "migrate"); err == nil || !strings.Contains(err.Error(), "--rotate-signing-secret") {
			t.Errorf("%s: %v, want refused", name, err)
		}
		if _, err := store.RotateSigningSecret(t.Context(), stored, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestNotificationsValidate: what create/set and every read refuse.
func TestNotificationsValidate(t *testing.T) {
	ok := Notification{URL: "https://hooks.slack.com/services/T/B/x", Format: FormatSlack}
	cases := map[string]struct {
		ns    []Notification
		field string
	}{
		"ftp":        {[]Notification{{URL: "ftp://x/y"}}, "spec.notifications[0].url"},
		"userinfo":   {[]Notification{{URL: "https://u:p@h/"}}, "spec.notifications[0].url"},
		"no host":    {[]Notification{{URL: "https:///x"}}, "spec.notifications[0].url"},
		"twice":      {[]Notification{ok, ok}, "spec.notifications[1].url"},
		"outcome":    {[]Notification{{URL: "https://h/", On: []Outcome{"maybe"}}}, "spec.notifications[0].on[0]"},
		"same twice": {[]Notification{{URL: "https://h/", On: []Outcome{"failed", "failed"}}}, "spec.notifications[0].on[1]"},
		"format":     {[]Notification{{URL: "https://h/", Format: "xml"}}, "spec.notifications[0].format"},
		"long":       {[]Notification{{URL: "https://h/" + strings.Repeat("a", MaxNotificationURL)}}, "spec.notifications[0].url"},
		"too many":   {make([]Notification, MaxNotifications+1), "spec.notifications"},
	}
	for name, tc := range cases {
		j := New("ns", "m")
		j.Spec.Image = "img"
		j.SetDefaults()
		j.Spec.Notifications = tc.ns
		err := j.Validate()
		if f := FieldOf(err); f != tc.field {
			t.Errorf("%s: field %q (%v), want %q", name, f, err, tc.field)
		}
	}
	j := New("ns", "m")
	j.Spec.Image = "img"
	j.SetDefaults()
	j.Spec.Notifications = []Notification{ok, {URL: "http://ci.internal/x", On: []Outcome{"failed", "cancelled"}}}
	j.Spec.RetentionFailed = "30d"
	if err := j.Validate(); err != nil {
		t.Fatalf("valid: %v", err)
	}
	j.Spec.RetentionFailed = "5x"
	if f := FieldOf(j.Validate()); f != "spec.retentionFailed" {
		t.Errorf("retentionFailed 5x: field %q", f)
	}
}

// TestRetentionByOutcome: a run starts with the longer retention; its end
// picks retention (succeeded) or retentionFailed (failed, cancelled).
func TestRetentionByOutcome(t *testing.T) {
	h := time.Hour
	cases := []struct {
		retention, failed string
		longest           time.Duration
		longestKeep       bool
		succ, fail        time.Duration
	}{
		{"1h", "", h, true, h, h},
		{"1h", "48h", 48 * h, true, h, 48 * h},
		{"48h", "1h", 48 * h, true, 48 * h, h},
		{"1h", "none", 0, false, h, 0},
		{"none", "1h", 0, false, 0, h},
	}
	for _, c := range cases {
		s := Spec{Retention: c.retention, RetentionFailed: c.failed}
		d, keep, err := s.LongestRetention()
		if err != nil || d != c.longest || keep != c.longestKeep {
			t.Errorf("%s/%s longest: %v %v %v", c.retention, c.failed, d, keep, err)
		}
		if d, _, _ := s.RetentionOf(OutcomeSucceeded); d != c.succ {
			t.Errorf("%s/%s succeeded: %v, want %v", c.retention, c.failed, d, c.succ)
		}
		for _, o := range []Outcome{OutcomeFailed, OutcomeCancelled} {
			if d, _, _ := s.RetentionOf(o); d != c.fail {
				t.Errorf("%s/%s %s: %v, want %v", c.retention, c.failed, o, d, c.fail)
			}
		}
	}
}
