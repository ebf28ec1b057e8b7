package hookserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/shipjob/kubectl-shipjob/plugin/run"
)

// MaxBodyBytes bounds a trigger's body (the paths and the token header of
// the HTTP API are hook.TriggerPath, hook.RunsPath, hook.TokenHeader).
const MaxBodyBytes = 64 << 10

// TriggerBody is the JSON body of POST /api/v1/dh; both fields are
// optional and so is the body. ParseTriggerBody reads it strictly.
type TriggerBody struct {
	// InstanceEnvironmentVariables are the run's parameters.
	InstanceEnvironmentVariables []EnvVar `json:"instanceEnvironmentVariables,omitempty"`
	// ImageTag overrides the job's image tag for this run.
	ImageTag string `json:"imageTag,omitempty"`
}

// EnvVar is one parameter.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Triggered is the 201 answer.
type Triggered struct {
	Run       string `json:"run"`
	Namespace string `json:"namespace"`
	Job       string `json:"job"`
	// StatusURL is where GET with the same token reads the run's status.
	StatusURL string `json:"statusUrl"`
}

// RunStatus is the answer of GET /api/v1/dh/runs/{run}: what CI needs to
// wait for a run, nothing more (no parameters, pods or users).
type RunStatus struct {
	Run       string     `json:"run"`
	Namespace string     `json:"namespace"`
	Job       string     `json:"job"`
	Phase     run.Phase  `json:"phase"`
	Finished  bool       `json:"finished"`
	Reason    string     `json:"reason,omitempty"`
	Message   string     `json:"message,omitempty"`
	ExitCode  *int32     `json:"exitCode,omitempty"`
	Created   time.Time  `json:"created"`
	StartedAt *time.Time `json:"startedAt,omitempty"`
	EndedAt   *time.Time `json:"finishedAt,omitempty"`
}

// ErrorBody is every error answer.
type ErrorBody struct {
	Code      int    `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"requestId,omitempty"`
}

// decodeTrigger reads a trigger's body: 415 when it is not JSON, 413 over
// MaxBodyBytes, 400 when malformed. An empty body is an empty trigger.
func decodeTrigger(w http.ResponseWriter, r *http.Request) (params map[string]string, tag string, _ *apiError) {
	ct := r.Header.Get("Content-Type")
	if ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, "", errorf(http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type must be application/json, got %q", ct))
		}
	}
	if r.ContentLength > MaxBodyBytes {
		return nil, "", errorf(http.StatusRequestEntityTooLarge, fmt.Sprintf("body is larger than %d KiB", MaxBodyBytes>>10))
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, "", errorf(http.StatusRequestEntityTooLarge, fmt.Sprintf("body is larger than %d KiB", MaxBodyBytes>>10))
	}
	if err != nil {
		return nil, "", errorf(http.StatusBadRequest, "reading body: "+err.Error())
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return map[string]string{}, "", nil
	}
	if ct == "" {
		return nil, "", errorf(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	body, perr := ParseTriggerBody(data)
	if perr != nil {
		return nil, "", errorf(http.StatusBadRequest, perr.Error())
	}
	params = make(map[string]string, len(body.InstanceEnvironmentVariables))
	for _, v := range body.InstanceEnvironmentVariables {
		params[v.Name] = v.Value
	}
	return params, body.ImageTag, nil
}

func runStatus(st run.Status) RunStatus {
	return RunStatus{Run: st.Name, Namespace: st.Namespace, Job: st.Job, Phase: st.Phase, Finished: st.Phase.Finished(),
		Reason: st.Reason, Message: st.Message, ExitCode: st.ExitCode, Created: st.Created, StartedAt: st.Started, EndedAt: st.Finished}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
