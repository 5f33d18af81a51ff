package service

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Instance is a running cco that a service manager controls.
type Instance interface {
	// Stop shuts the instance down gracefully, giving up when ctx ends.
	Stop(context.Context) error
	// Wait blocks until the instance has stopped and returns why.
	Wait() error
}

// request is what a service manager asks of a running service.
type request int

const (
	reqInterrogate request = iota // report the current status again
	reqStop
	reqShutdown // the machine is shutting down
)

// state is a service's state as a service manager knows it.
type state int

const (
	stateStartPending state = iota + 1
	stateRunning
	stateStopPending
	stateStopped
)

func (s state) String() string {
	return [...]string{"?", "start pending", "running", "stop pending", "stopped"}[s]
}

// status is what the service reports.
type status struct {
	state state
	// acceptStop: the service takes stop and shutdown requests.
	acceptStop bool
	// exitCode is non-zero when a stopped service failed, which makes the
	// service manager's recovery actions restart it.
	exitCode uint32
	// waitHint is how long the pending state may last.
	waitHint time.Duration
}

// failed is the exit code of a service that stopped on its own or failed
// to start.
const failed = 1

// startHint bounds the start-pending state; stopGrace is what a stop may
// take beyond the instance's own shutdown timeout (closing the store).
const (
	startHint = 30 * time.Second
	stopGrace = 10 * time.Second
)

// serve runs an instance under a service manager: it reports "start
// pending", starts the instance, reports "running" and waits. A stop or
// shutdown request stops the instance (exit code 0); an instance that ends
// by itself, or fails to start, is reported stopped with an error exit code
// so that the manager's recovery actions restart it. A closed requests
// channel counts as a stop. The error says why it ended, nil after a
// requested stop that went well. In-flight requests may finish for up to
// shutdownTimeout (server.shutdown_timeout) when the instance is stopped.
func serve(ctx context.Context, shutdownTimeout time.Duration, start func(context.Context) (Instance, error), requests <-chan request, report func(status)) (uint32, error) {
	stopTimeout := shutdownTimeout + stopGrace
	report(status{state: stateStartPending, waitHint: startHint})
	inst, err := start(ctx)
	if err != nil {
		report(status{state: stateStopped, exitCode: failed})
		return failed, fmt.Errorf("start cco: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- inst.Wait() }()
	running := status{state: stateRunning, acceptStop: true}
	report(running)
	for {
		select {
		case err := <-done:
			report(status{state: stateStopped, exitCode: failed})
			if err == nil {
				err = errors.New("cco stopped without being asked to")
			}
			return failed, err
		case r, ok := <-requests:
			if ok && r == reqInterrogate {
				report(running)
				continue
			}
			report(status{state: stateStopPending, waitHint: stopTimeout})
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
			err := inst.Stop(sctx)
			if err == nil {
				select {
				case err = <-done:
				case <-sctx.Done():
					err = sctx.Err()
				}
			}
			cancel()
			if err != nil {
				report(status{state: stateStopped, exitCode: failed})
				return failed, fmt.Errorf("stop cco: %w", err)
			}
			report(status{state: stateStopped})
			return 0, nil
		}
	}
}
