package postrender_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/shipjob/kubectl-shipjob/postrender"
)

const manifest = `---
# Source: app/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: app   # untouched, comment spacing included
data:
  run.sh: |
    echo hello
---
# Source: app/templates/job.yaml
apiVersion: batch/v1
kind: Job
metadata:
  name: app-migrate
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: busybox
`

func ExampleProcess() {
	ttl, err := postrender.ParseTTL("14d")
	if err != nil {
		log.Fatal(err)
	}
	out, err := postrender.Process([]byte(manifest), postrender.Options{Keep: true, TTL: ttl})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(out))
	// Output:
	// ---
	// # Source: app/templates/configmap.yaml
	// apiVersion: v1
	// kind: ConfigMap
	// metadata:
	//   name: app   # untouched, comment spacing included
	// data:
	//   run.sh: |
	//     echo hello
	// ---
	// # Source: app/templates/job.yaml
	// apiVersion: batch/v1
	// kind: Job
	// metadata:
	//   name: app-migrate
	//   annotations:
	//     helm.sh/resource-policy: 'keep'
	//     shipjob.dev/ttl: '336h0m0s'
	// spec:
	//   template:
	//     spec:
	//       restartPolicy: Never
	//       containers:
	//         - name: migrate
	//           image: busybox
	//   ttlSecondsAfterFinished: 1209600
}

func ExampleRenderer() {
	// Renderer plugs into Helm v3's action.Install and action.Upgrade as
	// their PostRenderer.
	r := postrender.Renderer{Options: postrender.Options{Keep: true}}
	out, err := r.Run(bytes.NewBufferString("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: once\n"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(out.String())

	// Empty output would make Helm delete every resource, so it is an error.
	_, err = r.Run(bytes.NewBufferString("# Source: app/templates/disabled.yaml\n"))
	fmt.Println(err != nil)
	// Output:
	// apiVersion: batch/v1
	// kind: Job
	// metadata:
	//   name: once
	//   annotations:
	//     helm.sh/resource-policy: 'keep'
	// true
}

func ExampleParseTTL() {
	for _, s := range []string{"336h", "90m", "14d", "3600", "none"} {
		d, err := postrender.ParseTTL(s)
		if err != nil {
			log.Fatal(err)
		}
		if d == nil {
			fmt.Printf("%s: no TTL\n", s)
			continue
		}
		fmt.Printf("%s: %v\n", s, *d)
	}
	_, err := postrender.ParseTTL("-1h")
	fmt.Println(err)
	// Output:
	// 336h: 336h0m0s
	// 90m: 1h30m0s
	// 14d: 336h0m0s
	// 3600: 1h0m0s
	// none: no TTL
	// invalid TTL "-1h": negative
}
