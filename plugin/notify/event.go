// Package notify delivers run-end notifications to webhooks: the body of
// one notification (Body, in the "json" or "slack" format), its signature
// (Sign, Verify), and its delivery (Sender) under an outbound policy that
// refuses plain http and internal addresses unless allowed, with retries
// (Deliver, Policy).
//
// It knows nothing of Kubernetes objects. A caller builds an Event from a
// finished run, then:
//
//	body, contentType, err := notify.Body(format, ev)
//	now := time.Now()
//	headers := map[string]string{notify.HeaderDelivery: ev.DeliveryID,
//		notify.HeaderTimestamp: strconv.FormatInt(now.Unix(), 10),
//		notify.HeaderSignature: notify.SignatureHeader(secrets, url, now, ev.DeliveryID, body)}
//	res := sender.Deliver(ctx, notify.DefaultPolicy(), url, body, contentType, headers, nil)
//	// res.Summary() goes to the run's annotation.
//
// Error messages never repeat the target URL: webhook URLs often carry a
// secret in their path.
package notify

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Headers of every notification request. The caller sets them (Send
// sends the headers it is given).
const (
	// HeaderDelivery carries Event.DeliveryID, for receivers to drop repeats.
	HeaderDelivery = "X-Shipjob-Delivery"
	// HeaderSignature carries SignatureHeader (see sign.go).
	HeaderSignature = "X-Shipjob-Signature-256"
)

// SchemaVersion is the "version" field of the JSON body. It changes only
// when a field changes meaning or goes away; new fields may be added
// without it.
const SchemaVersion = 1

// Event is what one notification says. Its JSON form (MarshalJSON) is the
// body of format "json"; a receiver in Go may decode that body into an
// Event.
type Event struct {
	Job       string `json:"job"`
	Run       string `json:"run"`
	Namespace string `json:"namespace"`
	// Outcome is how the run ended: succeeded, failed or cancelled.
	Outcome string `json:"outcome"`
	// ExitCode is nil when unknown (JSON null).
	ExitCode *int32 `json:"exitCode"`
	// Message says why a run did not succeed, e.g. "exit code 3" or "Did
	// not finish within 15m"; it may be empty.
	Message string `json:"message"`
	// StartedAt, FinishedAt are RFC 3339 in UTC in JSON, null when zero.
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	// Duration is in seconds.
	Duration float64 `json:"durationSeconds"`
	// Parameters are the run's parameters; the caller masks secret ones.
	Parameters  map[string]string `json:"parameters"`
	Image       string            `json:"image"`
	TriggeredBy string            `json:"triggeredBy"`
	// StatusURL links to the run's status; it may be empty.
	StatusURL string `json:"statusUrl"`
	// DeliveryID is unique per run and target; it is also sent as the
	// HeaderDelivery header.
	DeliveryID string `json:"deliveryId"`
}

// jsonEvent is Event on the wire: every field always present, in this
// order.
type jsonEvent struct {
	Version     int               `json:"version"`
	Job         string            `json:"job"`
	Run         string            `json:"run"`
	Namespace   string            `json:"namespace"`
	Outcome     string            `json:"outcome"`
	ExitCode    *int32            `json:"exitCode"`
	Message     string            `json:"message"`
	StartedAt   *string           `json:"startedAt"`
	FinishedAt  *string           `json:"finishedAt"`
	Duration    float64           `json:"durationSeconds"`
	Parameters  map[string]string `json:"parameters"`
	Image       string            `json:"image"`
	TriggeredBy string            `json:"triggeredBy"`
	StatusURL   string            `json:"statusUrl"`
	DeliveryID  string            `json:"deliveryId"`
}

// MarshalJSON writes the body of format "json": the fields of Event plus
// "version" (SchemaVersion); parameters is {} rather than null, a
// duration that is not a number 0.
func (e Event) MarshalJSON() ([]byte, error) {
	params := e.Parameters
	if params == nil {
		params = map[string]string{}
	}
	if math.IsNaN(e.Duration) || math.IsInf(e.Duration, 0) {
		e.Duration = 0 // JSON has no NaN: a bad duration must not lose the notification
	}
	return json.Marshal(jsonEvent{
		Version: SchemaVersion, Job: e.Job, Run: e.Run, Namespace: e.Namespace, Outcome: e.Outcome,
		ExitCode: e.ExitCode, Message: e.Message, StartedAt: rfc3339(e.StartedAt), FinishedAt: rfc3339(e.FinishedAt),
		Duration: e.Duration, Parameters: params, Image: e.Image, TriggeredBy: e.TriggeredBy,
		StatusURL: e.StatusURL, DeliveryID: e.DeliveryID,
	})
}

func rfc3339(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

// Body renders e in format "json" (also when format is "") or "slack"
// (the incoming-webhook shape of Slack, Mattermost and Rocket.Chat). Both
// are sent as application/json.
func Body(format string, e Event) (body []byte, contentType string, err error) {
	switch format {
	case "", "json":
		body, err = json.Marshal(e)
	case "slack":
		body, err = json.Marshal(slackMessage(e))
	default:
		return nil, "", fmt.Errorf("unknown notification format %q (want json or slack)", format)
	}
	if err != nil {
		return nil, "", err
	}
	return body, "application/json", nil
}
