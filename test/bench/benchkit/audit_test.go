package benchkit

import (
	"os"
	"path/filepath"
	"testing"
)

// TestAuditLogReaders: the lines after skip are read, completed requests
// only, by user agent.
func TestAuditLogReaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	log := `{"stage":"ResponseComplete","userAgent":"kubectl-shipjob/v1","verb":"get","objectRef":{"resource":"secrets"},"responseStatus":{"code":200}}
{"stage":"ResponseComplete","userAgent":"kubectl-shipjob/v1 hooks-serve","verb":"list","objectRef":{"resource":"jobs"},"responseStatus":{"code":200}}
{"stage":"RequestReceived","userAgent":"kubectl-shipjob/v1","verb":"get","objectRef":{"resource":"secrets"}}
{"stage":"ResponseComplete","userAgent":"kubectl/v1.32","verb":"create","objectRef":{"resource":"jobs"},"responseStatus":{"code":201}}
not json
`
	if err := os.WriteFile(path, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := countRequests(path, 1, "kubectl-shipjob/"); err != nil || n != 1 {
		t.Errorf("countRequests after line 1: %d, %v; want 1", n, err)
	}
	agents, err := AuditAgents(path, 0)
	if err != nil || agents["kubectl-shipjob"] != 1 || agents["kubectl-shipjob hooks-serve"] != 1 || agents["kubectl"] != 1 {
		t.Errorf("AuditAgents: %v, %v", agents, err)
	}
	reqs, err := AuditRequests(path, 0, "kubectl-shipjob/")
	if err != nil || len(reqs) != 2 || reqs["get secrets"] == nil || reqs["get secrets"].Codes[200] != 1 {
		t.Errorf("AuditRequests: %v, %v", reqs, err)
	}
}
