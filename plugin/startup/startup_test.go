package startup

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

func TestDoneRestoresSettings(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT set")
	}
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("during start-up GOGC = %d, want off", got)
	}
	if got := debug.SetMemoryLimit(-1); got != pausedLimit {
		t.Errorf("during start-up the memory limit = %d, want %d", got, pausedLimit)
	}
	Done()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("after Done GOGC = %d, want 100", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("after Done the memory limit = %d, want none", got)
	}
}
