package service

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeInstance is a cco instance that dies when told to.
type fakeInstance struct {
	stopped chan struct{}
	dead    chan error
	stopErr error
	stops   int
}

func newFakeInstance() *fakeInstance {
	return &fakeInstance{stopped: make(chan struct{}), dead: make(chan error, 1)}
}

func (f *fakeInstance) Stop(ctx context.Context) error {
	f.stops++
	if f.stopErr != nil {
		return f.stopErr
	}
	f.dead <- nil
	return nil
}

func (f *fakeInstance) Wait() error { return <-f.dead }

func describe(s status) string {
	d := s.state.String()
	if s.acceptStop {
		d += " accepting stop"
	}
	if s.exitCode != 0 {
		d += " exit 1"
	}
	return d
}

func TestServeStateMachine(t *testing.T) {
	for _, tt := range []struct {
		name     string
		startErr error
		stopErr  error
		do       func(chan<- request, *fakeInstance)
		want     []string
		code     uint32
		err      string
	}{
		{"stop", nil, nil, func(r chan<- request, _ *fakeInstance) { r <- reqStop },
			[]string{"start pending", "running accepting stop", "stop pending", "stopped"}, 0, ""},
		{"shutdown", nil, nil, func(r chan<- request, _ *fakeInstance) { r <- reqShutdown },
			[]string{"start pending", "running accepting stop", "stop pending", "stopped"}, 0, ""},
		{"interrogate then stop", nil, nil, func(r chan<- request, _ *fakeInstance) { r <- reqInterrogate; r <- reqInterrogate; r <- reqStop },
			[]string{"start pending", "running accepting stop", "running accepting stop", "running accepting stop", "stop pending", "stopped"}, 0, ""},
		{"channel closed", nil, nil, func(r chan<- request, _ *fakeInstance) { close(r) },
			[]string{"start pending", "running accepting stop", "stop pending", "stopped"}, 0, ""},
		{"instance dies", nil, nil, func(_ chan<- request, in *fakeInstance) { in.dead <- errors.New("listener closed") },
			[]string{"start pending", "running accepting stop", "stopped exit 1"}, failed, "listener closed"},
		{"instance exits cleanly by itself", nil, nil, func(_ chan<- request, in *fakeInstance) { in.dead <- nil },
			[]string{"start pending", "running accepting stop", "stopped exit 1"}, failed, "without being asked"},
		{"start fails", errors.New("port 3000 is taken"), nil, nil,
			[]string{"start pending", "stopped exit 1"}, failed, "port 3000 is taken"},
		{"stop fails", nil, errors.New("drain timed out"), func(r chan<- request, _ *fakeInstance) { r <- reqStop },
			[]string{"start pending", "running accepting stop", "stop pending", "stopped exit 1"}, failed, "drain timed out"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := newFakeInstance()
			in.stopErr = tt.stopErr
			requests := make(chan request)
			var got []string
			reported := make(chan struct{}, 16)
			start := func(context.Context) (Instance, error) {
				if tt.startErr != nil {
					return nil, tt.startErr
				}
				return in, nil
			}
			type result struct {
				code uint32
				err  error
			}
			done := make(chan result, 1)
			go func() {
				code, err := serve(context.Background(), 30*time.Second, start, requests, func(s status) {
					got = append(got, describe(s))
					reported <- struct{}{}
				})
				done <- result{code, err}
			}()
			if tt.do != nil {
				// Wait for "running" before asking anything.
				<-reported
				<-reported
				tt.do(requests, in)
			}
			var r result
			select {
			case r = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("serve did not return")
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("reported %q, want %q", got, tt.want)
			}
			if r.code != tt.code || (tt.err == "") != (r.err == nil) || (r.err != nil && !strings.Contains(r.err.Error(), tt.err)) {
				t.Errorf("serve = %d, %v; want %d, %q", r.code, r.err, tt.code, tt.err)
			}
			if tt.name == "stop" && in.stops != 1 {
				t.Errorf("Stop called %d times", in.stops)
			}
		})
	}
}

func TestRunIfServiceOutsideWindows(t *testing.T) {
	handled, err := RunIfService(WindowsName, 30*time.Second, func(context.Context) (Instance, error) {
		t.Fatal("start called")
		return nil, nil
	})
	if handled || err != nil {
		t.Errorf("RunIfService = %v, %v", handled, err)
	}
}
