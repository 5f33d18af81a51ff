//go:build !windows

package service

import (
	"context"
	"time"
)

// RunIfService runs cco as the Windows service name when the Windows
// service manager started this process: start starts the instance, which
// is stopped when the manager asks, with shutdownTimeout for in-flight
// requests to finish. It returns handled=false, nil when
// the process was not started by the service manager, and always outside
// Windows, where launchd and systemd need nothing of the kind.
func RunIfService(name string, shutdownTimeout time.Duration, start func(context.Context) (Instance, error)) (handled bool, err error) {
	return false, nil
}
