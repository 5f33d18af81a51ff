package service

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeRunner records the programs it is asked to run and answers from a
// script: the first answer whose command line prefix matches.
type fakeRunner struct {
	calls   []string
	answers []answer
}

type answer struct {
	prefix string
	code   int
	out    string
	times  int // how many times it applies; 0: always
}

func (f *fakeRunner) Run(_ context.Context, out io.Writer, name string, args ...string) (int, error) {
	line := strings.Join(append([]string{name}, args...), " ")
	f.calls = append(f.calls, line)
	for i := range f.answers {
		a := &f.answers[i]
		if a.times < 0 || !strings.HasPrefix(line, a.prefix) {
			continue
		}
		if a.times > 0 {
			a.times--
			if a.times == 0 {
				a.times = -1
			}
		}
		io.WriteString(out, a.out)
		return a.code, nil
	}
	return 0, nil
}

func (f *fakeRunner) on(prefix string, code int, out string) *fakeRunner {
	f.answers = append(f.answers, answer{prefix: prefix, code: code, out: out})
	return f
}

func (f *fakeRunner) once(prefix string, code int, out string) *fakeRunner {
	f.answers = append(f.answers, answer{prefix: prefix, code: code, out: out, times: 1})
	return f
}

func (f *fakeRunner) want(t *testing.T, calls ...string) {
	t.Helper()
	if !slices.Equal(f.calls, calls) {
		t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(f.calls, "\n  "), strings.Join(calls, "\n  "))
	}
	f.calls = nil
}

// fakeSCM is a Windows service manager in memory.
type fakeSCM struct {
	calls    []string
	services map[string]*fakeService
}

type fakeService struct {
	config  WindowsConfig
	state   string
	deleted bool
}

func newFakeSCM() *fakeSCM { return &fakeSCM{services: map[string]*fakeService{}} }

func (f *fakeSCM) log(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeSCM) Config(name string) (WindowsConfig, bool, error) {
	f.log("config %s", name)
	s, ok := f.services[name]
	if !ok {
		return WindowsConfig{}, false, nil
	}
	return s.config, true, nil
}

func (f *fakeSCM) Create(name string, c WindowsConfig) error {
	f.log("create %s", name)
	if _, ok := f.services[name]; ok {
		return fmt.Errorf("service %s exists", name)
	}
	f.services[name] = &fakeService{config: c, state: "stopped"}
	return nil
}

func (f *fakeSCM) Update(name string, c WindowsConfig) error {
	f.log("update %s", name)
	f.services[name].config = c
	return nil
}

func (f *fakeSCM) Delete(name string) error {
	f.log("delete %s", name)
	delete(f.services, name)
	return nil
}

func (f *fakeSCM) Start(name string) error {
	f.log("start %s", name)
	f.services[name].state = "running"
	return nil
}

func (f *fakeSCM) Stop(_ context.Context, name string) error {
	f.log("stop %s", name)
	f.services[name].state = "stopped"
	return nil
}

func (f *fakeSCM) Query(name string) (WindowsStatus, error) {
	f.log("query %s", name)
	s := f.services[name]
	pid := 0
	if s.state == "running" {
		pid = 4242
	}
	return WindowsStatus{State: s.state, PID: pid}, nil
}

func (f *fakeSCM) Close() error { f.log("close"); return nil }

func (f *fakeSCM) want(t *testing.T, calls ...string) {
	t.Helper()
	if !slices.Equal(f.calls, calls) {
		t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(f.calls, "\n  "), strings.Join(calls, "\n  "))
	}
	f.calls = nil
}

func noSleep(time.Duration) {}
