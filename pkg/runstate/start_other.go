//go:build !linux && !darwin && !windows

package runstate

import "time"

// processStart is unknown on this system.
func processStart(int) (time.Time, bool) { return time.Time{}, false }
