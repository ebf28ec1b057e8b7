// Package hookserver is the deploy hook server (`kubectl shipjob hook
// serve`): Run assembles it from one Config, stern-style. Its HTTP API
// (Server) reads hooks through a watch (Index), parses bodies strictly,
// limits rates per hook and per client address, serves TLS with rotation
// and Prometheus metrics, and triggers runs through the same run.Engine as
// `kubectl shipjob run`. With run ends on, one replica (the holder of a
// Lease) processes run ends through plugin/runend. The hooks themselves
// (tokens, store, binding) are plugin/hook's.
package hookserver
