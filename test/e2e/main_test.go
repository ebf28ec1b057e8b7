// Package e2e runs kubectl-shipjob and kubectl against the project's real
// local control plane (see test/cluster).
package e2e

import (
	"os"
	"testing"

	"github.com/shipjob/kubectl-shipjob/test/cluster"
)

func TestMain(m *testing.M) { os.Exit(cluster.Main(m)) }
