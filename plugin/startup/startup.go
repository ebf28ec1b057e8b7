// Package startup makes the plugin start faster: it pauses the garbage
// collector while Go initializes packages, and Done resumes it.
//
// Package initialization of the libraries the plugin links (Helm's JSON
// schema meta-schemas, client-go's scheme, ...) allocates about 8 MB before
// main runs; with the default GOGC that is three collections, about a third
// of the CPU time of `kubectl shipjob version`. Go initializes this package
// before those libraries (a package is initialized as soon as its imports
// are, in import path order, and this one imports only runtime/debug), so
// the pause covers them; `make bench` shows the effect (zero GC cycles
// before main with GODEBUG=gctrace=1). While paused, the GC still runs when
// the heap nears a 64 MiB soft limit, so a program that never calls Done
// (a test binary) keeps working.
package startup

import "runtime/debug"

const pausedLimit = 64 << 20

var (
	// The settings in force before the pause: GOGC and GOMEMLIMIT.
	gcPercent   = debug.SetGCPercent(-1)
	memoryLimit = pause()
)

func pause() int64 {
	prev := debug.SetMemoryLimit(-1)
	debug.SetMemoryLimit(min(prev, pausedLimit))
	return prev
}

// Done restores the garbage collector settings of the environment. Call it
// first thing in main (or in the command entry point).
func Done() {
	debug.SetGCPercent(gcPercent)
	debug.SetMemoryLimit(memoryLimit)
}
