package hook

// The wire names of the deploy hook API (Shipmight's contract, plus a
// status endpoint): the server serves them, and `hook create` and the UI
// show them, so they live with the hooks, not with the server.
const (
	TriggerPath = "/api/v1/dh"
	// RunsPath + run name: GET a run of the hook's job.
	RunsPath    = "/api/v1/dh/runs/"
	TokenHeader = "X-Deploy-Hook-Token"
)
