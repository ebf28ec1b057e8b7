package postrender

import (
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/shipjob/kubectl-shipjob/postrender/postrendertest"
)

// genManifests is the shared benchmark input (see postrendertest).
func genManifests(n int) []byte { return postrendertest.HelmV3Output(n) }

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
