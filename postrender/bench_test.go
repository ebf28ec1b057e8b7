package postrender

import (
	"bytes"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"
)

// genManifests renders n resources the way Helm v3 prints them: half Jobs,
// half ConfigMaps with comments and block scalars.
func genManifests(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			fmt.Fprintf(&b, `---
# Source: app/templates/job.yaml
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate-%d
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

func BenchmarkProcess(b *testing.B) {
	ttl := 14 * 24 * time.Hour
	opts := Options{Keep: true, TTL: &ttl}
	for _, n := range []int{500, 5000, 45000} {
		in := genManifests(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			peak := watchHeap()
			for b.Loop() {
				if _, err := Process(in, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(peak())/float64(len(in)), "peak-heap/input")
		})
	}
}

// watchHeap samples the bytes of live and unswept heap objects every
// millisecond until the returned function is called, which reports the
// largest sample. The input itself is included.
func watchHeap() func() uint64 {
	runtime.GC()
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(samples)
			peak = max(peak, samples[0].Value.Uint64())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		return peak
	}
}
