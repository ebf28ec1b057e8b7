package run

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/jobdef"
)

// Annotations the hook server's run-end processing (plugin/runend) puts
// on a run's Job.
const (
	// AnnotationEnded is set (RFC 3339) when everything for the run's end is
	// done; such runs are not looked at again.
	AnnotationEnded = jobdef.Group + "/ended"
	// LabelEnded ("true") marks the same on the run's Job as a label, so
	// the hook server's watch holds only runs not yet processed.
	LabelEnded = jobdef.Group + "/ended"
	// AnnotationNotifications is a JSON list of Delivery, one per
	// notification of the job that the run's outcome matched.
	AnnotationNotifications = jobdef.Group + "/notifications"
)

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	DeliveryRefused   = "refused"
)

// Delivery is the state of one notification of a run. Target is the
// notification's index in the definition when the run ended; its URL is
// not recorded (webhook URLs often hold a secret).
type Delivery struct {
	Target  int    `json:"target"`
	State   string `json:"state"`
	Summary string `json:"summary,omitempty"`
	Tries   int    `json:"tries,omitempty"`
	// URLHash tells a later leader whether the definition's notification
	// at Target is still the one this delivery is for.
	URLHash string `json:"urlHash,omitempty"`
	// NextTry is when a pending delivery that failed a try is tried
	// again (RFC 3339); a later leader keeps the schedule and the count.
	NextTry *time.Time `json:"nextTry,omitempty"`
}

// Final reports whether d needs no more tries.
func (d Delivery) Final() bool { return d.State != DeliveryPending }

// ParseDeliveries reads AnnotationNotifications. What it reads may have
// been edited by hand: anything but a well-formed list is an error.
func ParseDeliveries(v string) ([]Delivery, error) {
	if v == "" {
		return nil, nil
	}
	var ds []Delivery
	if err := json.Unmarshal([]byte(v), &ds); err != nil {
		return nil, fmt.Errorf("annotation %s: %w", AnnotationNotifications, err)
	}
	if len(ds) > jobdef.MaxNotifications {
		return nil, fmt.Errorf("annotation %s: %d entries, at most %d", AnnotationNotifications, len(ds), jobdef.MaxNotifications)
	}
	for _, d := range ds {
		switch d.State {
		case DeliveryPending, DeliveryDelivered, DeliveryFailed, DeliveryRefused:
		default:
			return nil, fmt.Errorf("annotation %s: unknown state %q", AnnotationNotifications, d.State)
		}
		if d.Target < 0 || d.Target >= jobdef.MaxNotifications {
			return nil, fmt.Errorf("annotation %s: target %d out of range", AnnotationNotifications, d.Target)
		}
	}
	return ds, nil
}

// NotifiedSummary is one word for a run's notifications (`runs -o wide`): "-"
// without any, else the least good state among them.
func NotifiedSummary(v string) string {
	ds, err := ParseDeliveries(v)
	if err != nil {
		return "invalid"
	}
	if len(ds) == 0 {
		return "-"
	}
	rank := map[string]int{DeliveryDelivered: 0, DeliveryPending: 1, DeliveryRefused: 2, DeliveryFailed: 3}
	worst := DeliveryDelivered
	n := 0
	for _, d := range ds {
		if rank[d.State] > rank[worst] {
			worst = d.State
		}
		if d.State == DeliveryDelivered {
			n++
		}
	}
	if worst == DeliveryDelivered {
		return DeliveryDelivered
	}
	return fmt.Sprintf("%s (%d/%d delivered)", worst, n, len(ds))
}

// EncodeDeliveries is the value of AnnotationNotifications.
func EncodeDeliveries(ds []Delivery) string {
	b, _ := json.Marshal(ds) // plain structs: cannot fail
	return string(b)
}

func notifiedOf(ann map[string]string) string {
	v, ok := ann[AnnotationNotifications]
	if !ok {
		return ""
	}
	return NotifiedSummary(v)
}
