package benchkit

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"time"
)

// AuditLines is the number of lines the audit log at path has now: pass it
// to AuditRequests to read only what comes after.
func AuditLines(path string) (int, error) { return lines(path) }

// Request is one kind of API request in the audit log ("create jobs",
// "list secrets") with how often it completed and the time the API server
// took for each (received → response complete).
type Request struct {
	Kind    string
	Codes   map[int]int
	Latency []time.Duration
}

// AuditRequests groups the completed requests after line skip whose user
// agent starts with agent by verb and resource (with subresource), or verb
// and path for requests of no resource.
func AuditRequests(path string, skip int, agent string) (map[string]*Request, error) {
	out := map[string]*Request{}
	err := auditLines(path, skip, func(line []byte) {
		var e struct {
			Stage      string `json:"stage"`
			UserAgent  string `json:"userAgent"`
			Verb       string `json:"verb"`
			RequestURI string `json:"requestURI"`
			ObjectRef  struct {
				Resource    string `json:"resource"`
				Subresource string `json:"subresource"`
			} `json:"objectRef"`
			ResponseStatus struct {
				Code int `json:"code"`
			} `json:"responseStatus"`
			Received time.Time `json:"requestReceivedTimestamp"`
			Done     time.Time `json:"stageTimestamp"`
		}
		if json.Unmarshal(line, &e) != nil || e.Stage != "ResponseComplete" || !strings.HasPrefix(e.UserAgent, agent) {
			return
		}
		kind := e.Verb + " " + e.ObjectRef.Resource
		if e.ObjectRef.Resource == "" { // a path such as /readyz
			kind = e.Verb + " " + strings.SplitN(e.RequestURI, "?", 2)[0]
		}
		if e.ObjectRef.Subresource != "" {
			kind += "/" + e.ObjectRef.Subresource
		}
		r := out[kind]
		if r == nil {
			r = &Request{Kind: kind, Codes: map[int]int{}}
			out[kind] = r
		}
		r.Codes[e.ResponseStatus.Code]++
		r.Latency = append(r.Latency, e.Done.Sub(e.Received))
	})
	return out, err
}

// AuditAgents counts the completed requests after line skip by client: the
// user agent's product name (before its first "/"), plus the first word of
// its comment for hook servers ("kubectl-shipjob hooks-serve").
func AuditAgents(path string, skip int) (map[string]int, error) {
	out := map[string]int{}
	err := auditLines(path, skip, func(line []byte) {
		var e struct {
			Stage     string `json:"stage"`
			UserAgent string `json:"userAgent"`
		}
		if json.Unmarshal(line, &e) != nil || e.Stage != "ResponseComplete" {
			return
		}
		agent, _, _ := strings.Cut(e.UserAgent, "/")
		if strings.HasSuffix(e.UserAgent, " hooks-serve") {
			agent += " hooks-serve"
		}
		out[agent]++
	})
	return out, err
}

// auditLines calls fn with each line of the audit log at path after line
// skip (the log may hold lines of megabytes: a list's response).
func auditLines(path string, skip int, fn func(line []byte)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 16<<20)
	for n := 1; s.Scan(); n++ {
		if n > skip {
			fn(s.Bytes())
		}
	}
	return s.Err()
}
