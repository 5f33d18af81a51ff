//go:build !linux && !darwin

package cli

// protectMemory has nothing to do here: Windows writes no core dumps of a
// process unless asked to.
func protectMemory() error { return nil }
