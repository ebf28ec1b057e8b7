// Package postrendertest generates Helm output for the post-renderer's
// benchmarks and fuzz seeds (the Go benchmark and `make bench-postrender`
// use the same input).
package postrendertest

import (
	"bytes"
	"fmt"
)

// HelmV3Output renders n resources the way Helm v3 prints them: half Jobs
// (each with one annotation), half ConfigMaps with a comment and a block
// scalar holding comments.
func HelmV3Output(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		if i%2 == 0 {
			fmt.Fprintf(&b, `---
# Source: app/templates/job.yaml
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate-%d
  annotations:
    team: app
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: "app:1.2.3"
          args: ["migrate", "%d"]
`, i, i)
			continue
		}
		fmt.Fprintf(&b, `---
# Source: app/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: config-%d # per run
data:
  run.sh: |
    #!/bin/sh
    # wait for db
    set -eu
    exec run %d
`, i, i)
	}
	return b.Bytes()
}
