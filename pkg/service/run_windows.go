//go:build windows

package service

import (
	"context"
	"time"

	"golang.org/x/sys/windows/svc"
)

// RunIfService runs cco as the Windows service name when the Windows
// service manager started this process: start starts the instance, which
// is stopped when the manager asks, with shutdownTimeout for in-flight
// requests to finish. It returns handled=false, nil when
// the process was not started by the service manager, and always outside
// Windows, where launchd and systemd need nothing of the kind.
func RunIfService(name string, shutdownTimeout time.Duration, start func(context.Context) (Instance, error)) (handled bool, err error) {
	is, err := svc.IsWindowsService()
	if err != nil || !is {
		return false, err
	}
	h := &handler{start: start, shutdownTimeout: shutdownTimeout}
	if err := svc.Run(name, h); err != nil {
		return true, err
	}
	return true, h.err
}

// handler translates between the service manager's types and serve.
type handler struct {
	start           func(context.Context) (Instance, error)
	shutdownTimeout time.Duration
	err             error
}

func (h *handler) Execute(_ []string, changes <-chan svc.ChangeRequest, statuses chan<- svc.Status) (bool, uint32) {
	requests := make(chan request)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		defer close(requests)
		for {
			select {
			case <-ctx.Done():
				return
			case c, ok := <-changes:
				if !ok {
					return
				}
				r, known := map[svc.Cmd]request{svc.Interrogate: reqInterrogate, svc.Stop: reqStop, svc.Shutdown: reqShutdown}[c.Cmd]
				if !known {
					continue
				}
				select {
				case requests <- r:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	// svc reports the final "stopped", with the exit code returned here.
	code, err := serve(ctx, h.shutdownTimeout, h.start, requests, func(s status) {
		if s.state != stateStopped {
			statuses <- toSvc(s)
		}
	})
	h.err = err
	return code != 0, code
}

func toSvc(s status) svc.Status {
	out := svc.Status{
		State:    map[state]svc.State{stateStartPending: svc.StartPending, stateRunning: svc.Running, stateStopPending: svc.StopPending, stateStopped: svc.Stopped}[s.state],
		WaitHint: uint32(s.waitHint.Milliseconds()),
	}
	if s.acceptStop {
		out.Accepts = svc.AcceptStop | svc.AcceptShutdown
	}
	return out
}
